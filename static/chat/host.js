/**
 * The channel to the host page (static/widget.js) when the chat runs in its iframe. The host's
 * origin comes from the iframe's URL (`?origin=`), checked against the real parent where the
 * browser tells it; messages go only to that origin and are taken only from the parent window
 * at that origin.
 */

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
