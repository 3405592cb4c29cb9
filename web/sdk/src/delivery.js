// Delivery: every event is queued in localStorage before anything is sent, so a
// reload, a crash or a network cut loses nothing, and leaves the queue only
// once the server has answered for it. Each tab owns its own queue (a Web Lock
// held for the page's life says it is alive), so two tabs never send the same
// event; a closed tab's queue is adopted by the next page that finds it. The
// server deduplicates by id, which makes every retry safe.

import { backoff, byteLength, retryAfter, uuidv7 } from "./util.js";

const BATCH_EVENTS = 50; // per request; the API takes 500
const BATCH_BYTES = 60000; // keepalive and sendBeacon bodies are limited to 64 KiB in all
const FLUSH_MS = 500; // the longest an event waits for its batch
const MAX_EVENT_BYTES = 9000; // the API takes 8 KiB of properties; a bigger event could never be sent
const HEARTBEAT_MS = 10000; // without Web Locks, a queue whose page has not beaten for
const ORPHAN_MS = 120000; // this long (hidden tabs' timers slow to one a minute) is adopted

/** createDelivery returns the queue of one public key's events. */
export function createDelivery({ host, key, local, session, maxQueue, onError, onRejected }) {
  const prefix = "so:q:" + key.slice(0, 16) + ":";
  let tab = session.get("so:tab") || uuidv7();
  let queue = []; // [{e: event, h: user hash}] in creation order
  let ready = false;
  let sending = false;
  let attempt = 0;
  let timer = 0;
  let stopped = false;
  let releaseTab = null;

  const persist = () => {
    if (!ready) return;
    while (!local.setJSON(prefix + tab, queue)) {
      if (queue.length <= 1) return local.remove(prefix + tab); // not even one fits: memory only, no stale copy
      countDropped(Math.ceil(queue.length / 2)); // storage full: keep the newest half
      queue = queue.slice(Math.ceil(queue.length / 2));
    }
  };
  const countDropped = (n) => {
    const k = "so:dropped:" + key.slice(0, 16);
    local.set(k, String((Number(local.get(k)) || 0) + n));
  };

  const schedule = (ms) => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = 0;
      flush().catch(onError);
    }, ms);
  };

  // claim makes this page the owner of its tab's queue: a duplicated tab
  // (which copies sessionStorage) finds the lock taken and starts a queue of its own.
  const locks = typeof navigator !== "undefined" && navigator.locks && navigator.locks.query ? navigator.locks : null;
  const claim = () =>
    new Promise((resolve) => {
      if (!locks) return resolve(true);
      locks
        .request("so-tab:" + tab, { ifAvailable: true }, (lock) => {
          if (!lock || stopped) return resolve(!!lock); // a stopped instance lets go at once
          resolve(true);
          return new Promise((release) => (releaseTab = release));
        })
        .catch(() => resolve(true));
    });

  async function start() {
    if (!(await claim())) {
      tab = uuidv7();
      await claim();
    }
    if (stopped) return;
    session.set("so:tab", tab);
    const kept = local.getJSON(prefix + tab, []);
    queue = (Array.isArray(kept) ? kept : []).concat(queue);
    ready = true;
    await adoptOrphans();
    if (stopped) return;
    persist();
    if (!locks) beat();
    if (queue.length) schedule(0);
  }

  // beat marks this page's queue alive where Web Locks cannot.
  let heart = 0;
  function beat() {
    local.set("so:hb:" + key.slice(0, 16) + ":" + tab, String(Date.now()));
    heart = setTimeout(beat, HEARTBEAT_MS);
  }

  // adoptOrphans moves the queues of tabs that no live page owns into this one:
  // no page holds their lock, or (without Web Locks) their heartbeat stopped.
  async function adoptOrphans() {
    // One page adopts at a time, so two pages starting together never both take an orphan.
    if (locks) return locks.request("so-adopt:" + key.slice(0, 16), adoptNow).catch(onError);
    return adoptNow();
  }

  async function adoptNow() {
    try {
      const held = locks ? new Set((await locks.query()).held.map((l) => l.name)) : null;
      const hb = (id) => Number(local.get("so:hb:" + key.slice(0, 16) + ":" + id)) || 0;
      for (const k of local.keys()) {
        if (!k || !k.startsWith(prefix) || k === prefix + tab) continue;
        const id = k.slice(prefix.length);
        if (held ? held.has("so-tab:" + id) : Date.now() - hb(id) < ORPHAN_MS) continue;
        const orphan = local.getJSON(k, []);
        local.remove(k);
        local.remove("so:hb:" + key.slice(0, 16) + ":" + id);
        if (Array.isArray(orphan)) queue = orphan.concat(queue);
      }
    } catch (err) {
      onError(err);
    }
  }

  // enqueue queues one event; one the API could never accept (too big, or
  // not JSON) is refused here, so it cannot block the queue behind it.
  function enqueue(event, userHash) {
    if (stopped) return false;
    let size = 0;
    try {
      size = byteLength(JSON.stringify(event));
    } catch (err) {
      onError(new Error("an event's properties are not JSON (" + err.message + "); it was dropped"));
      return false;
    }
    if (size > MAX_EVENT_BYTES) {
      onError(new Error(`an event of ${size} bytes is over the ${MAX_EVENT_BYTES}-byte limit; it was dropped`));
      return false;
    }
    queue.push({ e: event, h: userHash || "", n: size });
    if (queue.length > maxQueue) {
      countDropped(queue.length - maxQueue);
      queue = queue.slice(queue.length - maxQueue);
    }
    persist();
    schedule(queue.length >= BATCH_EVENTS ? 0 : FLUSH_MS);
    return true;
  }

  // restamp gives a user's queued events the identity hash that came late.
  function restamp(userId, userHash) {
    let changed = false;
    for (const item of queue) {
      if (item.e.user_id === userId && !item.h) (item.h = userHash), (changed = true);
    }
    if (changed) persist();
  }

  // nextBatch takes the leading events of one user (one identity hash), within
  // the request limits.
  function nextBatch() {
    const out = [];
    let bytes = 20;
    for (const item of queue) {
      const size = (item.n || byteLength(JSON.stringify(item.e))) + 1;
      if (out.length && (item.h !== out[0].h || out.length >= BATCH_EVENTS || bytes + size > BATCH_BYTES)) break;
      out.push(item);
      bytes += size;
    }
    return out;
  }

  function remove(sent) {
    const ids = new Set(sent.map((i) => i.e.id));
    queue = queue.filter((i) => !ids.has(i.e.id));
    persist();
  }

  async function flush() {
    if (!ready || sending || stopped || !queue.length) return;
    if (typeof navigator.onLine === "boolean" && !navigator.onLine) return schedule(backoff(attempt++));
    const batch = nextBatch();
    sending = true;
    let wait = 0;
    try {
      const headers = { Authorization: "Bearer " + key, "Content-Type": "application/json" };
      if (batch[0].h) headers["X-User-Hash"] = batch[0].h;
      const res = await fetch(host + "/v1/events", {
        method: "POST",
        keepalive: true,
        headers,
        body: JSON.stringify({ events: batch.map((i) => i.e) }),
      });
      if (res.ok) {
        attempt = 0;
        const body = await res.json().catch(() => ({}));
        if (body.rejected && body.rejected.length) onRejected(body.rejected);
        remove(batch);
      } else if (res.status === 429 || res.status === 408 || res.status >= 500) {
        wait = Math.max(retryAfter(res.headers.get("Retry-After")), backoff(attempt++));
      } else {
        // Another 4xx will not pass on a retry (a revoked key, a refused identity).
        const body = await res.json().catch(() => ({}));
        remove(batch);
        onError(new Error("events refused (" + res.status + "): " + ((body.error && body.error.message) || res.statusText)));
      }
    } catch (err) {
      wait = backoff(attempt++); // the network: try again later
    } finally {
      sending = false;
    }
    if (wait) schedule(wait);
    else if (queue.length) schedule(0);
  }

  // beacon hands the queue to the browser as the page goes away; the events stay
  // queued until a server answer is seen, so one the beacon loses is sent again.
  function beacon() {
    if (!ready || !queue.length || !navigator.sendBeacon) return;
    const saved = queue;
    try {
      while (queue.length) {
        const batch = nextBatch();
        const q = "?key=" + encodeURIComponent(key) + (batch[0].h ? "&user_hash=" + encodeURIComponent(batch[0].h) : "");
        const body = new Blob([JSON.stringify({ events: batch.map((i) => i.e) })], { type: "text/plain" });
        if (!navigator.sendBeacon(host + "/v1/events" + q, body)) break;
        queue = queue.slice(batch.length);
      }
    } finally {
      queue = saved;
    }
  }

  function drop() {
    queue = [];
    persist();
  }

  function stop() {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(heart);
    timer = 0;
    if (releaseTab) releaseTab();
  }

  return { start, enqueue, restamp, flush, beacon, drop, stop, size: () => queue.length };
}
