/** How long Execute reads an event stream before it shows what arrived. */
export const STREAM_PREVIEW_S = 3;

/**
 * The script that Swagger UI's page runs before every "Try it out" request, as source text: it
 * is sent to the browser as it is (no bundler, no transpiler between), and the unit spec runs
 * the same text in a `vm` context. It defines `window.relaySwaggerUi` with:
 *
 * - `interceptRequest(request)`, Swagger UI's `requestInterceptor`:
 *   - an `Authorization` value `<AccessKey>:<SecretKey>` (what the `qiniu` scheme's field holds)
 *     is replaced by `Qiniu <AccessKey>:<sign>`, signed in the page, so the secret never leaves
 *     the browser; any other value that is neither `Bearer ...` nor an already signed
 *     `Qiniu ...` is dropped rather than sent, as it may be a secret typed in the wrong form;
 *   - a request that accepts `text/event-stream` (Swagger UI asks for the media type the
 *     operation documents) is fetched by `previewEventStream` instead of never finishing.
 * - `qiniuAuthorization(accessKey, secretKey, url, method, contentType, body, headers)`, the
 *   same arguments and result as the `qiniu` SDK's `util.generateAccessTokenV2`.
 * - `sha1(bytes)` and `previewEventStream(url, init, millis)`, exposed for the spec.
 *
 * SHA-1, HMAC and base64 are written out here because Web Crypto (`crypto.subtle`) exists only
 * in secure contexts, and the docs are often opened over plain http on a host that is not
 * localhost. The text is a template literal: it takes no backticks, and a dollar-brace only to
 * put a constant of this file in.
 */
export const SWAGGER_UI_SCRIPT = String.raw`
(function (root) {
  'use strict';

  var STREAM_PREVIEW_MS = ${STREAM_PREVIEW_S * 1000};
  var BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

  /** UTF-8 bytes, as Node and fetch encode a string body (lone surrogates become U+FFFD). */
  function utf8(text) {
    return Array.from(new TextEncoder().encode(text));
  }

  function rotl(word, bits) {
    return (word << bits) | (word >>> (32 - bits));
  }

  /** SHA-1 (FIPS 180-4) of an array of bytes, as an array of 20 bytes. */
  function sha1(bytes) {
    var length = bytes.length;
    var blocks = ((length + 8) >>> 6) + 1;
    var words = new Uint32Array(blocks * 16);
    for (var i = 0; i < length; i++) words[i >>> 2] |= bytes[i] << (24 - (i & 3) * 8);
    words[length >>> 2] |= 0x80 << (24 - (length & 3) * 8);
    // The message length in bits, as a 64-bit big-endian number: 8 * length / 2^32 above.
    words[blocks * 16 - 2] = Math.floor(length / 0x20000000);
    words[blocks * 16 - 1] = (length * 8) >>> 0;

    var h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
    var w = new Uint32Array(80);
    for (var block = 0; block < words.length; block += 16) {
      for (var t = 0; t < 16; t++) w[t] = words[block + t];
      for (t = 16; t < 80; t++) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
      var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
      for (t = 0; t < 80; t++) {
        var f, k;
        if (t < 20) {
          f = (b & c) | (~b & d);
          k = 0x5a827999;
        } else if (t < 40) {
          f = b ^ c ^ d;
          k = 0x6ed9eba1;
        } else if (t < 60) {
          f = (b & c) | (b & d) | (c & d);
          k = 0x8f1bbcdc;
        } else {
          f = b ^ c ^ d;
          k = 0xca62c1d6;
        }
        var next = (rotl(a, 5) + f + e + k + w[t]) >>> 0;
        e = d;
        d = c;
        c = rotl(b, 30) >>> 0;
        b = a;
        a = next;
      }
      h[0] = (h[0] + a) >>> 0;
      h[1] = (h[1] + b) >>> 0;
      h[2] = (h[2] + c) >>> 0;
      h[3] = (h[3] + d) >>> 0;
      h[4] = (h[4] + e) >>> 0;
    }
    var digest = [];
    h.forEach(function (word) {
      digest.push(word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff);
    });
    return digest;
  }

  /** HMAC (RFC 2104) with SHA-1; a key longer than the 64-byte block is hashed first. */
  function hmacSha1(key, message) {
    if (key.length > 64) key = sha1(key);
    var inner = [];
    var outer = [];
    for (var i = 0; i < 64; i++) {
      var byte = i < key.length ? key[i] : 0;
      inner.push(byte ^ 0x36);
      outer.push(byte ^ 0x5c);
    }
    return sha1(outer.concat(sha1(inner.concat(message))));
  }

  /** URL-safe base64 with its '=' padding, as the SDK's base64ToUrlSafe leaves it. */
  function base64UrlSafe(bytes) {
    var out = '';
    for (var i = 0; i < bytes.length; i += 3) {
      var n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
      out += BASE64[n >>> 18] + BASE64[(n >>> 12) & 63];
      out += i + 1 < bytes.length ? BASE64[(n >>> 6) & 63] : '=';
      out += i + 2 < bytes.length ? BASE64[n & 63] : '=';
    }
    return out;
  }

  /** X-qiniu-date -> X-Qiniu-Date. Browsers only send token header names, always changed. */
  function canonicalHeaderName(name) {
    return name
      .split('-')
      .map(function (word) {
        return word.substring(0, 1).toUpperCase() + word.substring(1).toLowerCase();
      })
      .join('-');
  }

  /**
   * The signing string of util.generateAccessTokenV2, quirks included, so that the page and the
   * SDK agree to the byte: the port is written twice ("Host: h:8080:8080") and a request without
   * a Content-Type is signed as application/x-www-form-urlencoded. The server accepts both.
   */
  function signingString(url, method, contentType, body, headers) {
    var u = new URL(url);
    var text = method.toUpperCase() + ' ' + u.pathname + u.search + '\nHost: ' + u.host;
    if (u.port) text += ':' + u.port;
    text += '\nContent-Type: ' + (contentType || 'application/x-www-form-urlencoded');
    var qiniuHeaders = {};
    Object.keys(headers || {}).forEach(function (name) {
      qiniuHeaders[canonicalHeaderName(name)] = headers[name];
    });
    var lines = Object.keys(qiniuHeaders)
      .filter(function (name) {
        return name.indexOf('X-Qiniu-') === 0 && name.length > 'X-Qiniu-'.length;
      })
      .sort()
      .map(function (name) {
        return name + ': ' + qiniuHeaders[name];
      });
    if (lines.length > 0) text += '\n' + lines.join('\n');
    text += '\n\n';
    if (body && contentType !== 'application/octet-stream') text += body;
    return text;
  }

  function qiniuAuthorization(accessKey, secretKey, url, method, contentType, body, headers) {
    var text = signingString(url, method, contentType, body, headers);
    return 'Qiniu ' + accessKey + ':' + base64UrlSafe(hmacSha1(utf8(secretKey), utf8(text)));
  }

  function headerNamed(headers, wanted) {
    return Object.keys(headers).filter(function (name) {
      return name.toLowerCase() === wanted;
    })[0];
  }

  function absoluteUrl(url) {
    return new URL(url, root.location ? root.location.href : undefined).href;
  }

  function signRequest(request) {
    var headers = request.headers;
    var name = headerNamed(headers, 'authorization');
    if (name === undefined) return;
    var value = String(headers[name]).trim();
    if (/^(Bearer|Qiniu) /.test(value)) return;
    delete headers[name];
    var keys = /^([^:\s]+):(.+)$/.exec(value);
    if (!keys) return;
    // Only a string body is signed: the server API takes JSON, never a file upload.
    var body = typeof request.body === 'string' ? request.body : undefined;
    var typeName = headerNamed(headers, 'content-type');
    if (body !== undefined && typeName === undefined) {
      // fetch would add this to a string body after signing; stated here, it is signed too.
      typeName = 'Content-Type';
      headers[typeName] = 'text/plain;charset=UTF-8';
    }
    var contentType = typeName === undefined ? undefined : headers[typeName];
    headers.Authorization = qiniuAuthorization(
      keys[1],
      keys[2],
      absoluteUrl(request.url),
      request.method,
      contentType,
      body,
      headers,
    );
  }

  /**
   * Fetches an event stream for a few seconds, then stops and answers what arrived as one
   * response, so Swagger UI shows the stream's status and first events instead of waiting for
   * an end that never comes. An answer that is not a stream (an error envelope) is left as is.
   */
  async function previewEventStream(url, init, millis) {
    var controller = new AbortController();
    var timer = setTimeout(function () {
      controller.abort();
    }, millis);
    var response = await fetch(url, Object.assign({}, init, { signal: controller.signal }));
    var type = response.headers.get('content-type') || '';
    if (!response.body || type.indexOf('text/event-stream') !== 0) {
      clearTimeout(timer);
      return response;
    }
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var text = '';
    try {
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        text += decoder.decode(chunk.value, { stream: true });
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
    clearTimeout(timer);
    text += decoder.decode();
    if (controller.signal.aborted) {
      text +=
        ': Swagger UI stopped reading after ' + millis / 1000 + ' s; ' +
        'follow the stream with EventSource (see the description)\n';
    }
    return new Response(text, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }

  function acceptsEventStream(headers) {
    var name = headerNamed(headers, 'accept');
    return name !== undefined && String(headers[name]).indexOf('text/event-stream') !== -1;
  }

  function interceptRequest(request) {
    request.headers = request.headers || {};
    signRequest(request);
    if (acceptsEventStream(request.headers)) {
      request.userFetch = function (url, init) {
        return previewEventStream(url, init, STREAM_PREVIEW_MS);
      };
    }
    return request;
  }

  root.relaySwaggerUi = {
    interceptRequest: interceptRequest,
    qiniuAuthorization: qiniuAuthorization,
    sha1: sha1,
    previewEventStream: previewEventStream,
  };
})(globalThis);
`;
