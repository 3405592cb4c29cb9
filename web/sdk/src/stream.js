// The user's real-time stream: an EventSource on /v1/stream that resumes where
// it stopped (Last-Event-ID), backs off on errors, pauses while the tab is
// hidden, and stays closed when the server says reconnecting is pointless.

import { backoff } from "./util.js";

const EVENTS = ["journey", "next_step", "engagement", "intervention", "reset"];

/** createStream opens and keeps open the stream of one user. */
export function createStream({ host, key, userId, userHash, onEvent }) {
  let source = null;
  let lastId = "";
  let attempt = 0;
  let timer = 0;
  let closed = false; // for good: shutdown, sign-out, or the server said not to come back
  let replaced = false;
  let connected = false; // the server said "connected" on the open stream // another tab of the user holds the stream: wait until this one is looked at again

  const url = () => {
    let u = host + "/v1/stream?user_id=" + encodeURIComponent(userId) + "&key=" + encodeURIComponent(key);
    if (userHash) u += "&user_hash=" + encodeURIComponent(userHash);
    if (lastId) u += "&last_event_id=" + encodeURIComponent(lastId);
    return u;
  };

  function open() {
    if (closed || replaced || source || document.visibilityState === "hidden" || typeof EventSource === "undefined") return;
    let s;
    try {
      s = new EventSource(url());
    } catch (_) {
      closed = true; // a host EventSource refuses will not work later either
      return;
    }
    source = s;
    const seen = (e) => {
      if (e.lastEventId) lastId = e.lastEventId;
    };
    s.addEventListener("connected", (e) => {
      attempt = 0;
      connected = source === s;
      seen(e);
    });
    for (const name of EVENTS) {
      s.addEventListener(name, (e) => {
        seen(e);
        let data = null;
        try {
          data = JSON.parse(e.data);
        } catch (_) {
          return;
        }
        onEvent(name, data);
      });
    }
    s.addEventListener("dropped", (e) => {
      let data = {};
      try {
        data = JSON.parse(e.data);
      } catch (_) {
        /* a dropped event without a body: reconnect */
      }
      shut();
      if (data.reason === "replaced") replaced = true;
      else if (data.reconnect === false) closed = true;
      else retry();
    });
    s.onerror = () => {
      connected = false; // until the server says "connected" again
      // The browser retries a dropped connection itself, but not a refused one.
      if (s.readyState === EventSource.CLOSED) {
        shut();
        retry();
      }
    };
  }

  function shut() {
    if (source) source.close();
    source = null;
    connected = false;
  }

  function retry() {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = 0;
      open();
    }, 500 + backoff(attempt++, 1000, 60000));
  }

  const onVisibility = () => {
    if (document.visibilityState === "hidden") return shut();
    replaced = false; // the user is here now: take the stream back
    open();
  };
  document.addEventListener("visibilitychange", onVisibility);

  function close() {
    closed = true;
    clearTimeout(timer);
    shut();
    document.removeEventListener("visibilitychange", onVisibility);
  }

  open();
  return { close, isOpen: () => !!source && connected };
}
