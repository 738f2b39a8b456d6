/**
 * E2e specs wait on conditions, never on fixed times, so a slow test only means a loaded
 * machine: when other work saturates both cores a spec may take many times its quiet length,
 * and only a stuck one should fail on time.
 */
jest.setTimeout(180_000);
