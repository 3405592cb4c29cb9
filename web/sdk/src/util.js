// Small helpers shared by the SDK's parts: ids, safe storage, an emitter, and
// the guard that keeps every error inside the SDK.

/** uuidv7 returns a UUID version 7: 48 bits of Unix milliseconds, then random bits. */
export function uuidv7(now = Date.now()) {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  let t = now;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** store wraps a Web Storage area so that a full, blocked or missing one never throws. */
export function store(area) {
  let s = null;
  try {
    s = window[area];
    const probe = "so:probe";
    s.setItem(probe, "1");
    s.removeItem(probe);
  } catch (_) {
    s = null;
  }
  const memory = new Map();
  return {
    get(k) {
      try {
        return s ? s.getItem(k) : memory.has(k) ? memory.get(k) : null;
      } catch (_) {
        return null;
      }
    },
    set(k, v) {
      try {
        if (s) s.setItem(k, v);
        else memory.set(k, v);
        return true;
      } catch (_) {
        return false;
      }
    },
    remove(k) {
      try {
        if (s) s.removeItem(k);
        else memory.delete(k);
      } catch (_) {
        /* nothing to undo */
      }
    },
    keys() {
      try {
        if (!s) return [...memory.keys()];
        const out = [];
        for (let i = 0; i < s.length; i++) out.push(s.key(i));
        return out;
      } catch (_) {
        return [];
      }
    },
    getJSON(k, fallback) {
      try {
        const v = this.get(k);
        return v == null ? fallback : JSON.parse(v);
      } catch (_) {
        return fallback;
      }
    },
    setJSON(k, v) {
      let text;
      try {
        text = JSON.stringify(v);
      } catch (_) {
        return false;
      }
      return this.set(k, text);
    },
  };
}

/** emitter keeps the listeners of on(); a listener that throws cannot stop the others. */
export function emitter(onListenerError) {
  const listeners = new Map();
  return {
    on(name, fn) {
      if (typeof fn !== "function") return () => {};
      if (!listeners.has(name)) listeners.set(name, new Set());
      listeners.get(name).add(fn);
      return () => {
        const set = listeners.get(name);
        if (set) set.delete(fn);
      };
    },
    emit(name, data) {
      for (const fn of listeners.get(name) || []) {
        try {
          fn(data);
        } catch (err) {
          onListenerError(err);
        }
      }
    },
    clear() {
      listeners.clear();
    },
  };
}

/** byteLength is the UTF-8 size of a string, which request limits count. */
export function byteLength(text) {
  return new TextEncoder().encode(text).length;
}

/** scrub removes what an error message may carry about a person: email
 * addresses, URLs (with their tokens) and long runs of digits. */
export function scrub(text) {
  return String(text || "")
    .replace(/[^\s@]+@[^\s@]+\.[^\s@]+/g, "<email>")
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, "<url>")
    .replace(/\d{4,}/g, "<number>")
    .slice(0, 200);
}

/** isoNow is the time as the API wants it: RFC 3339 with milliseconds, UTC. */
export function isoNow() {
  return new Date().toISOString();
}

/** backoff is an exponential delay with full jitter, capped. */
export function backoff(attempt, base = 1000, cap = 30000) {
  return Math.random() * Math.min(cap, base * 2 ** Math.min(attempt, 10));
}

/** retryAfter reads a Retry-After header (seconds or an HTTP date) in milliseconds. */
export function retryAfter(value) {
  if (!value) return 0;
  const s = Number(value);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : 0;
}

/** elementPath describes an element by tag, id and classes up to five levels,
 * never by its text or value; a data-so-mask ancestor hides everything below it. */
export function elementPath(el) {
  const parts = [];
  const masked = el.closest && el.closest("[data-so-mask]");
  let node = masked || el;
  for (let depth = 0; node && node.nodeType === 1 && depth < 5; depth++) {
    let part = node.tagName.toLowerCase();
    if (node === masked) part += "[data-so-mask]";
    else {
      if (node.id && /^[A-Za-z][\w-]{0,40}$/.test(node.id)) part += "#" + node.id;
      const classes = [...(node.classList || [])].filter((c) => /^[A-Za-z][\w-]{0,40}$/.test(c)).slice(0, 2);
      if (classes.length) part += "." + classes.join(".");
    }
    parts.unshift(part);
    if (node.id || node === document.body) break;
    node = node.parentElement;
  }
  return parts.join(" > ").slice(0, 300);
}

/** urlMatches tells whether a path matches a step's url pattern: "*" stands for
 * any run of characters, and a pattern without a scheme is matched against the
 * path alone. */
export function urlMatches(pattern, loc = window.location) {
  if (!pattern) return true;
  const subject = /^[a-z]+:\/\//i.test(pattern) ? loc.origin + loc.pathname : loc.pathname;
  const re = new RegExp("^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
  return re.test(subject);
}
