/**
 * The visitor's side of a chat: starting it, sends kept in the outbox until acknowledged (and
 * resent with the same id), typing notices, their acks and errors, End chat, files and location.
 * Methods of App (controller.js), mixed into it.
 */
import { uuid } from './util.js';
import { t } from './i18n.js';
import { fileProblem, heldRow, progressRow, upload } from './files.js';
import { store } from './storage.js';

export const MESSAGE = 'chat_session_message';
const REFUSED = new Set(['invalid_frame', 'unknown_event', 'invalid_event', 'too_long', 'no_chat', 'chat_ended', 'unconfirmed']);
const RESEND_MS = 3000;
const HELD_KEY = 'webchat.heldFiles'; // this tab's held files, [{id, chatId}]; the files: heldfiles.js
const heldStore = () => import('./heldfiles.js');

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
    // A form asked for with no name is answered by this message too, as Bright Pattern's client does.
    if (this.textForm != null) this.sendReliable({ event: 'chat_session_form_data', form_request_id: this.textForm, form_name: '', data: { text } });
    this.textForm = null;
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
  sendTyping(on, draft) {
    if (this.view !== 'chat') return;
    const id = uuid();
    if (this.typingIds.size > 100) this.typingIds.clear();
    const event = { event: on ? 'chat_session_typing' : 'chat_session_not_typing', msg: draft };
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
    this.sendFile({ file, row: null });
  },

  /**
   * Sends one file, showing its progress. Like text in the outbox, a file is held while the
   * socket is down, or after a send the network or a busy server broke off, and goes when the
   * socket is back (flushFiles) or at Retry; a refused one says why and is dropped.
   */
  sendFile(job) {
    const name = job.file.name || t('file.file');
    if (this.conn.status !== 'open') return void this.holdFile(job, t('file.waiting', { name }));
    this.heldFiles.delete(job);
    this.forgetHeld(job);
    let transfer = null;
    const progress = progressRow(name, () => transfer && transfer.cancel());
    this.placeFileRow(job, progress.row);
    transfer = upload(job.file, progress.set, this.config.maxUpload);
    // On success the server shares the file itself, and its event frame draws it.
    transfer.promise.then(() => progress.row.remove(), (error) => {
      if (error.reason === 'offline' || error.reason === 'failed') return void this.holdFile(job, error.message);
      progress.row.remove();
      this.transcript.system(error.message, 'error');
    });
  },

  holdFile(job, why) {
    this.heldFiles.add(job);
    this.keepHeld(job);
    this.placeFileRow(job, heldRow(job.file.name || t('file.file'), why, () => this.sendFile(job), () => {
      this.heldFiles.delete(job);
      this.forgetHeld(job);
      job.row.remove();
      this.els.transcript.focus();
    }));
  },

  /** Puts a file's row in place of its previous one, keeping the focus in it. */
  placeFileRow(job, row) {
    const hadFocus = !!job.row && job.row.contains(document.activeElement);
    if (job.row && job.row.isConnected) job.row.replaceWith(row);
    else this.transcript.append(row);
    job.row = row;
    if (hadFocus) row.querySelector('button').focus();
  },

  /** The socket is back: held files go. */
  flushFiles() {
    if (this.accepting()) for (const job of [...this.heldFiles]) this.sendFile(job);
  },

  /** A held file survives a reload: the file in IndexedDB, its id in this tab's storage. */
  keepHeld(job) {
    if (job.kept) return;
    Object.assign(job, { id: job.id || uuid(), kept: true });
    store.set(HELD_KEY, [...store.get(HELD_KEY, []).filter((h) => h.id !== job.id), { id: job.id, chatId: this.log.chatId }]);
    heldStore().then((m) => m.keep(job.id, this.log.chatId, job.file)).catch(() => {}); // no storage: kept by this page only
  },

  forgetHeld(job) {
    if (!job.kept) return;
    job.kept = false;
    store.set(HELD_KEY, store.get(HELD_KEY, []).filter((h) => h.id !== job.id));
    heldStore().then((m) => m.forget(job.id)).catch(() => {});
  },

  /** After a reload: the files this tab held are held again, and go when they can. */
  restoreHeld() {
    const list = store.get(HELD_KEY, []);
    if (!Array.isArray(list) || !list.length) return;
    heldStore().then(async (m) => {
      for (const { id, chatId } of list) {
        const kept = await m.get(id).catch(() => null);
        // Still stored (kept: true): held again without writing the file a second time.
        const job = { file: kept && kept.file, row: null, id, kept: true };
        if (kept && chatId === this.log.chatId && !this.ended) {
          this.holdFile(job, t('file.waiting', { name: job.file.name || t('file.file') }));
        } else this.forgetHeld(job);
      }
      this.flushFiles();
    }).catch(() => {});
  },

  /** The chat ended: held files can no longer go. */
  dropFiles() {
    for (const job of this.heldFiles) {
      this.forgetHeld(job);
      job.row.remove();
      this.transcript.system(t('file.chatEnded', { name: job.file.name || t('file.file') }), 'error');
    }
    this.heldFiles.clear();
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
