/**
 * What this tab keeps across reloads (sessionStorage, the iframe's own): the chat it shows with
 * the last `seq` and the events to redraw it, and the sends not yet acknowledged.
 */

const [LOG_KEY, OUTBOX_KEY] = ['webchat.log', 'webchat.outbox'];

/** JSON in Web Storage, surviving a full, disabled or corrupt storage. */
export const store = {
  get(key, fallback, area = 'session') {
    try {
      const raw = (area === 'local' ? localStorage : sessionStorage).getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch { return fallback; }
  },
  set(key, value, area = 'session') {
    try { (area === 'local' ? localStorage : sessionStorage).setItem(key, JSON.stringify(value)); return true; }
    catch { return false; }
  },
};

/**
 * The chat this tab shows: its id, the last `seq` seen, the events needed to redraw it (typing
 * notices are not kept), local-only lines (a shared location, an answered form), the last host
 * page announced, and whether the visitor disconnected (soft end).
 */
export class ChatLog {
  constructor() {
    const s = store.get(LOG_KEY, null);
    const ok = s && typeof s.chatId === 'string' && Array.isArray(s.events) && Number.isInteger(s.lastSeq);
    this.reset(ok ? s.chatId : null, ok ? s.lastSeq : 0, ok ? s.events : []);
    if (ok) Object.assign(this, { page: s.page || null, closing: !!s.closing });
  }

  /** Starts over for `chatId` (null: no chat). */
  reset(chatId, lastSeq = 0, events = []) {
    Object.assign(this, { chatId, lastSeq, events, page: null, closing: false });
    this.save();
  }

  /** One server event by its `seq`; `keep` false for events not worth redrawing. */
  record(seq, event, keep) {
    this.lastSeq = seq;
    if (keep) this.events.push(event);
    this.save();
  }

  /** A line only this browser knows of (the server does not log it), kept for redraws. */
  addLocal(event) {
    this.events.push({ ...event, local: true });
    this.save();
  }

  save() {
    const { chatId, lastSeq, events, page, closing } = this;
    // Storage full: keep only the chat id, so that a reload replays the chat from the server.
    if (!store.set(LOG_KEY, { chatId, lastSeq, events, page, closing })) store.set(LOG_KEY, { chatId, lastSeq: 0, events: [] });
  }
}

/** Sends not yet acknowledged ({id, chatId, event}), kept across reloads, resent with the same id. */
export class Outbox {
  constructor() {
    const saved = store.get(OUTBOX_KEY, []);
    this.entries = Array.isArray(saved) ? saved.filter((e) => e && e.id && e.event) : [];
  }

  add(entry) { this.entries.push(entry); this.save(); }
  get(id) { return this.entries.find((e) => e.id === id) || null; }
  save() { store.set(OUTBOX_KEY, this.entries); }

  remove(id) {
    const entry = this.get(id);
    if (entry) { this.entries = this.entries.filter((e) => e !== entry); this.save(); }
    return entry;
  }

  /** Drops the entries of any other chat and returns a copy of those of `chatId`. */
  retain(chatId) {
    this.entries = this.entries.filter((e) => e.chatId === chatId);
    this.save();
    return this.entries.slice();
  }
}
