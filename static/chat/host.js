/**
 * The channel to the host page (static/widget.js) when the chat runs in its iframe. The host's
 * origin comes from the iframe's URL (`?origin=`), checked against the real parent where the
 * browser tells it; messages go only to that origin and are taken only from the parent window
 * at that origin. Also what the chat does with the host page (methods of App, mixed into it).
 */

const NAVIGATION_SETTLE_MS = 250;

export class HostBridge {
  /** @param {function(object): void} onMessage gets every valid message from the host */
  constructor(onMessage) {
    const params = new URLSearchParams(location.search);
    let origin = null;
    try { origin = new URL(params.get('origin') || '').origin; } catch { /* not embedded by our loader */ }
    const ancestors = location.ancestorOrigins;
    if (ancestors && ancestors.length && ancestors[0] !== origin) origin = null;
    this.origin = window.parent !== window && origin && origin !== 'null' ? origin : null;
    if (!this.origin) return;
    addEventListener('message', (e) => {
      if (e.source !== window.parent || e.origin !== this.origin) return;
      const data = e.data;
      if (data && data.webchat === 1 && typeof data.type === 'string') onMessage(data);
    });
  }

  get embedded() { return this.origin !== null; }

  /** Posts `{webchat: 1, type, ...data}` to the host page, and only to it. */
  post(type, data = {}) {
    if (this.origin) window.parent.postMessage({ ...data, webchat: 1, type }, this.origin);
  }
}

/** @type {ThisType<import('./controller.js').App>} */
export const hostMethods = {
  onHostMessage(msg) {
    if (msg.type === 'context') {
      if (typeof msg.url === 'string') this.hostPage = { url: msg.url.slice(0, 2000), title: String(msg.title || '').slice(0, 500) };
      // One navigation may be reported twice (the Navigation API, then popstate, whose handlers
      // may set the title): the agent hears of the page once the reports have settled.
      clearTimeout(this.navigateTimer);
      this.navigateTimer = setTimeout(() => this.navigate(), NAVIGATION_SETTLE_MS);
    }
    if (msg.params && typeof msg.params === 'object') this.prechat.setPrefill(msg.params);
    if (typeof msg.open === 'boolean') {
      this.notifier.setWidgetOpen(msg.open);
      if (msg.open) { this.pendingFocus = true; this.focusIfWanted(); }
    }
  },

  /** Tells the agent which page of the host site the visitor is on, once per page. */
  navigate() {
    const page = this.hostPage;
    if (!page || this.view !== 'chat' || this.ended || !this.log.chatId || this.log.page === page.url) return;
    this.log.page = page.url;
    this.log.save();
    this.sendReliable({ event: 'chat_session_navigation', page: page.url, title: page.title });
  },

  /** Reports to the host page whether a chat is going on (chatStarted / chatEnded). */
  announce(active) {
    if (active === this.hostActive) return;
    this.hostActive = active;
    this.host.post('chat', active ? { active, started: true } : { active, ended: true });
  },
};
