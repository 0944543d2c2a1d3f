/**
 * The visitor's side of a chat: starting it, sends kept in the outbox until acknowledged (and
 * resent with the same id), typing notices, their acks and errors, End chat, files and location.
 * Methods of App (controller.js), mixed into it.
 */
import { uuid } from './util.js';
import { t } from './i18n.js';
import { fileProblem, progressRow, upload } from './files.js';

export const MESSAGE = 'chat_session_message';
const REFUSED = new Set(['invalid_frame', 'unknown_event', 'invalid_event', 'too_long', 'no_chat', 'chat_ended', 'unconfirmed']);
const RESEND_MS = 3000;

/** @type {ThisType<import('./controller.js').App>} */
export const sessionMethods = {
  /** The server answers `start` with a state frame, or an error; a lost socket also ends the wait. */
  startChat(values) {
    if (this.starting) return;
    if (this.conn.send({ type: 'start', ...values })) this.setStarting(true);
    else this.prechat.setError(t('error.notConnected'));
  },

  setStarting(on) { this.starting = on; this.prechat.setBusy(on); },

  sendMessage(text) {
    const entry = this.sendReliable({ event: MESSAGE, msg: text });
    if (entry) this.transcript.message({ id: entry.id, own: true, name: t('chat.you'), pending: true }, text);
  },

  /** A send kept in the outbox until acknowledged, and resent with the same id after a reconnect. */
  sendReliable(event) {
    if (this.view !== 'chat' || !this.log.chatId) return null;
    const entry = { id: uuid(), chatId: this.log.chatId, event };
    this.outbox.add(entry);
    this.conn.send({ type: 'send', id: entry.id, event });
    return entry;
  },

  resendOutbox() {
    for (const { id, event } of this.outbox.retain(this.log.chatId)) this.conn.send({ type: 'send', id, event });
  },

  /** Typing notices are fire-and-forget: a stale one is worth nothing after a reconnect. */
  sendTyping(on) {
    if (this.view !== 'chat') return;
    const id = uuid();
    if (this.typingIds.size > 100) this.typingIds.clear();
    const event = { event: on ? 'chat_session_typing' : 'chat_session_not_typing' };
    if (this.conn.send({ type: 'send', id, event })) this.typingIds.add(id);
  },

  onAck(id) {
    if (this.typingIds.delete(id)) return;
    const entry = this.outbox.remove(id);
    if (!entry) return;
    if (entry.event.event === MESSAGE) this.transcript.mark(id, true);
    if (entry.event.event === 'chat_session_end') this.endChat(null);
  },

  onError({ id, code, message }) {
    if (id && this.typingIds.delete(id)) return; // a lost typing notice does not matter
    const entry = id ? this.outbox.get(id) : null;
    if (entry && code === 'upstream') {
      clearTimeout(this.resendTimer); // not posted: the same id is sent again shortly
      this.resendTimer = setTimeout(() => this.resendOutbox(), RESEND_MS);
    } else if (entry && REFUSED.has(code)) {
      this.outbox.remove(id);
      if (entry.event.event === MESSAGE) this.transcript.mark(id, false, { reason: message });
      if (code === 'chat_ended' || code === 'no_chat') this.endChat(t('chat.ended'));
    } else if (this.starting || this.view === 'prechat') {
      this.setStarting(false);
      this.prechat.setError(message || t('error.start'));
    } else if (this.view === 'chat' || this.view === 'ended') {
      this.transcript.system(message || t('error.generic'), 'error');
    }
  },

  /** End chat, confirmed: the conversation closes at once; the server's end follows. */
  endByVisitor() {
    const event = this.config.softEnd ? 'chat_session_disconnect' : 'chat_session_end';
    if (this.sendReliable({ event })) {
      this.transcript.system(t('chat.youEnded'), 'end');
      this.setClosing();
      this.els.transcript.focus();
    }
  },

  accepting() { return this.view === 'chat' && !this.log.closing; },

  upload(file) {
    if (!this.accepting()) return;
    const problem = fileProblem(file, this.config.maxUpload);
    if (problem) return void this.transcript.system(problem, 'error');
    let job = null;
    const progress = progressRow(file.name, () => job && job.cancel());
    this.transcript.append(progress.row);
    job = upload(file, progress.set);
    // On success the server shares the file itself, and its event frame draws it.
    job.promise.then(() => progress.row.remove(), (error) => {
      progress.row.remove();
      this.transcript.system(error.message, 'error');
    });
  },

  shareLocation() {
    if (!this.accepting() || !navigator.geolocation) return;
    const line = this.transcript.system(t('location.asking'), 'progress');
    navigator.geolocation.getCurrentPosition((pos) => {
      line.remove();
      const [lat, lon] = [pos.coords.latitude.toFixed(6), pos.coords.longitude.toFixed(6)];
      const event = { event: 'chat_session_location', latitude: lat, longitude: lon,
        url: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}` };
      if (!this.sendReliable(event)) return;
      const local = { ...event, party_id: this.log.chatId, timestamp: String(Math.floor(Date.now() / 1000)) };
      this.log.addLocal(local);
      this.apply(local, true);
    }, () => {
      line.remove();
      this.transcript.system(t('location.denied'), 'error');
    }, { timeout: 15000, maximumAge: 60000 });
  },
};
