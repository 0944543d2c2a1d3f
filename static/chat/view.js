/**
 * What the chat page shows: one view of 'loading' | 'offline' | 'prechat' | 'chat' | 'ended',
 * where the focus goes in it, chat availability (which picks the view without a chat), and the
 * header (status line, agent's photo). Methods of App (controller.js), mixed into it.
 */
import { download, fetchJSON, initials, photoURL } from './util.js';
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
    if (withChat) { this.transcript.keepAtEnd(); this.transcript.scrollToEnd(); }
    this.composer.setEnabled(view === 'chat' && !this.log.closing);
    clearInterval(this.availabilityTimer);
    if (view === 'offline') this.availabilityTimer = setInterval(() => this.checkAvailability(), AVAILABILITY_POLL_MS);
    if (view === 'prechat') { this.watchConnection(); this.prechat.load().then(() => this.focusIfWanted()); }
    else this.focusIfWanted();
    this.renderStatus();
  },

  /** Start chat waits for a connection: while the server is busy or out of reach it is disabled,
   * a line below saying why, rather than failing when pressed. It follows data-connection, which
   * the status line sets. Once per page. */
  watchConnection() {
    if (this.connectionWatch) return;
    const wait = document.getElementById('wc-prechat-wait');
    const update = () => {
      const down = ['busy', 'offline'].includes(this.els.app.dataset.connection);
      if (down || !this.starting) this.prechat.button.disabled = down;
      wait.hidden = !down;
    };
    this.connectionWatch = new MutationObserver(update);
    this.connectionWatch.observe(this.els.app, { attributes: true, attributeFilter: ['data-connection'] });
    update();
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

  /** The service's name under the title (chat_session_info), or none. */
  showService(name) {
    const line = document.getElementById('wc-service');
    line.textContent = name || '';
    line.hidden = !name;
  },

  /** The agent's name and photo in the header (their initials until the photo loads, or when
   * they have none); null: none (the logo shows). */
  showAgent(party) {
    this.agent = party;
    const { agent, initials: letters, photo } = this.els;
    agent.hidden = !party;
    photo.hidden = true;
    this.els.app.classList.toggle('wc-has-agent', !!party);
    if (party) {
      letters.textContent = initials(party.name);
      if (party.avatar) {
        photoURL(party.avatar).then((url) => {
          if (this.agent !== party) return;
          photo.src = url;
          photo.hidden = false;
        }, () => {});
      }
    }
    this.renderStatus();
  },

  /**
   * The header's status line: the connection's trouble first, else where the chat stands. Its
   * dot tells the state by shape as well as colour (data-tone): a dot when connected (an agent
   * with you), a ring while waiting or reconnecting, a dash when nothing goes on (offline,
   * ended). The text wraps rather than being cut.
   */
  renderStatus() {
    const conn = this.conn ? this.conn.status : 'connecting';
    if (conn !== 'open' && this.starting) this.setStarting(false);
    const open = conn === 'open';
    const inChat = open && this.view === 'chat';
    let [state, tone, key] = [conn, open ? 'live' : 'waiting', `status.${conn}`];
    if (open && this.upstreamRetrying) [state, tone, key] = ['retrying', 'waiting', 'status.retrying'];
    else if (open && this.view === 'ended') [tone, key] = ['idle', 'status.ended'];
    else if (inChat && this.log.closing) [tone, key] = ['idle', 'status.closing'];
    else if (inChat && this.agent) key = 'status.agent';
    else if (inChat) [tone, key] = ['waiting', 'status.waiting'];
    else if (open && this.view === 'offline') [tone, key] = ['idle', 'status.unavailable'];
    this.els.callButton.hidden = !(inChat && this.agent && !this.log.closing);
    const line = this.els.status;
    line.dataset.state = state;
    line.dataset.tone = tone;
    this.els.app.dataset.connection = state;
    const name = key === 'status.agent' ? this.agent.name : '';
    // "Chatting with Alice Martin", the name in bold (placed where the language puts it).
    const [before, after = ''] = t(key, { name: '\u0001' }).split('\u0001');
    if (line.textContent === before + name + after && line.dataset.key === key) return; // unchanged: not announced again
    line.dataset.key = key;
    if (!name) return void (line.textContent = before);
    const strong = document.createElement('strong');
    strong.className = 'wc-status-name';
    strong.dir = 'auto'; // isolated: written either way, its punctuation stays with it
    strong.textContent = name;
    line.replaceChildren(before, strong, after);
  },

  downloadTranscript() {
    const now = new Date();
    const stamp = now.toISOString().slice(0, 16).replace(/[T:]/g, '-');
    download(`chat-${stamp}.txt`, this.transcript.toText(t('transcript.heading', { date: now.toLocaleString(document.documentElement.lang) })));
  },
};
