/**
 * What the chat page shows: one view of 'loading' | 'offline' | 'prechat' | 'chat' | 'ended',
 * where the focus goes in it, chat availability (which picks the view without a chat), and the
 * header (status line, agent's photo). Methods of App (controller.js), mixed into it.
 */
import { download, fetchJSON, linkTo } from './util.js';
import { t } from './i18n.js';

const AVAILABILITY_POLL_MS = 15000;

/** @type {ThisType<import('./controller.js').App>} */
export const viewMethods = {
  setView(view) {
    const withChat = view === 'chat' || view === 'ended';
    this.view = view;
    this.els.loading.hidden = view !== 'loading';
    this.els.offline.hidden = view !== 'offline';
    this.els.prechat.hidden = view !== 'prechat';
    this.els.transcript.hidden = !withChat;
    this.els.composer.hidden = view !== 'chat' || this.log.closing;
    this.els.after.hidden = view !== 'ended';
    if (withChat) this.transcript.scrollToEnd();
    this.composer.setEnabled(view === 'chat' && !this.log.closing);
    clearInterval(this.availabilityTimer);
    if (view === 'offline') this.availabilityTimer = setInterval(() => this.checkAvailability(), AVAILABILITY_POLL_MS);
    if (view === 'prechat') this.prechat.load().then(() => this.focusIfWanted());
    else this.focusIfWanted();
    this.renderStatus();
  },

  focusIfWanted() {
    if (!this.pendingFocus || this.view === 'loading' || document.visibilityState !== 'visible') return;
    this.pendingFocus = false;
    if (this.view !== 'prechat') return void this.focusEntry();
    const before = document.activeElement; // the visitor may Tab on while the form loads
    const untouched = () => {
      const now = document.activeElement;
      return !now || now === before || now === document.body || now.offsetParent === null;
    };
    this.prechat.load().then(() => { if (this.view === 'prechat' && untouched()) this.prechat.focus(); });
  },

  /** Focus where a person expects it for the current view. */
  focusEntry() {
    if (this.view === 'prechat') this.prechat.focus();
    else if (this.view === 'offline') document.getElementById('wc-offline-title').focus();
    else if (this.view === 'ended') this.els.newChat.focus();
    else if (this.view === 'chat' && !this.log.closing) this.composer.focus();
    else if (this.view === 'chat') this.els.transcript.focus();
  },

  /** Without a chat: the pre-chat form when chat is available, else the offline notice. */
  showEntry() {
    if (this.availability === null) this.setView('loading');
    else this.setView(this.availability === 'available' ? 'prechat' : 'offline');
  },

  async checkAvailability() {
    let value = 'notAvailable'; // anything but {"chat":"available"}, a failure included
    try {
      if ((await fetchJSON('/api/availability')).chat === 'available') value = 'available';
    } catch { /* offline */ }
    this.availability = value;
    if (['loading', 'prechat', 'offline'].includes(this.view)) this.showEntry();
    return value;
  },

  async retryAvailability() {
    this.els.offlineNote.textContent = t('offline.checking');
    const value = await this.checkAvailability();
    if (value === 'available') { this.pendingFocus = true; this.focusIfWanted(); }
    else this.els.offlineNote.textContent = t('offline.still');
  },

  /** The agent's name and photo in the header; null: none. */
  showAgent(party) {
    this.agent = party;
    const photo = this.els.photo;
    const show = (on) => { photo.hidden = !on; this.els.app.classList.toggle('wc-has-agent', on); };
    show(false);
    if (party && party.avatar) {
      photo.onload = () => show(this.agent === party);
      photo.onerror = () => show(false);
      linkTo(photo, 'src', party.avatar).catch(() => show(false));
    }
    this.renderStatus();
  },

  /** The header's status line: the connection's trouble first, else where the chat stands. */
  renderStatus() {
    const conn = this.conn ? this.conn.status : 'connecting';
    if (conn !== 'open' && this.starting) this.setStarting(false);
    let state = conn;
    let text = t(`status.${conn}`);
    if (conn === 'open' && this.upstreamRetrying) [state, text] = ['retrying', t('status.retrying')];
    else if (conn === 'open' && this.view === 'ended') text = t('status.ended');
    else if (conn === 'open' && this.view === 'chat' && this.log.closing) text = t('status.closing');
    else if (conn === 'open' && this.view === 'chat' && this.agent) text = t('status.agent', { name: this.agent.name });
    else if (conn === 'open' && this.view === 'chat') text = t('status.waiting');
    else if (conn === 'open' && this.view === 'offline') text = t('status.unavailable');
    this.els.status.dataset.state = state;
    this.els.app.dataset.connection = state;
    if (this.els.status.textContent !== text) this.els.status.textContent = text;
  },

  downloadTranscript() {
    const now = new Date();
    const stamp = now.toISOString().slice(0, 16).replace(/[T:]/g, '-');
    download(`chat-${stamp}.txt`, this.transcript.toText(t('transcript.heading', { date: now.toLocaleString(document.documentElement.lang) })));
  },
};
