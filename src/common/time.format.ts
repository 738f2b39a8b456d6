const pad = (n: number) => (n < 10 ? '0' : '') + n;

/**
 * "YYYY-MM-DD HH:mm:ss" in the process time zone, which bootstrap sets from the TZ setting.
 * Local getters are an order of magnitude cheaper than Intl on the hot read path.
 */
export function formatLocalTime(ms: number | null): string | null {
  if (ms === null) return null;
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}
