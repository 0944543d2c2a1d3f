/**
 * The channel to the host page (static/widget.js) when the chat runs in its iframe. The host's
 * origin comes from the iframe's URL (`?origin=`), checked against the real parent where the
 * browser tells it; messages go only to that origin and are taken only from the parent window
 * at that origin. Also what the chat does with the host page (methods of App, mixed into it),
 * and the look the host page asked for (`?color=`, `?theme=`: see applyLook).
 */
import { desktop } from './notify.js';

const NAVIGATION_SETTLE_MS = 250;
const AA = 4.5;
const WHITE = [255, 255, 255];

/** The colour `css` (any CSS colour, custom properties resolved) as [r, g, b], 0-255. */
function rgbOf(css) {
  const ctx = rgbOf.ctx || (rgbOf.ctx = document.createElement('canvas').getContext('2d'));
  ctx.fillStyle = '#000';
  ctx.fillStyle = css.trim();
  return [1, 3, 5].map((i) => parseInt(ctx.fillStyle.slice(i, i + 2), 16) || 0); // "#rrggbb"
}

/** WCAG contrast ratio of two [r, g, b] (from their relative luminance). */
function contrast(a, b) {
  const lum = (rgb) => rgb.reduce((sum, v, i) => {
    const c = v / 255;
    const linear = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    return sum + [0.2126, 0.7152, 0.0722][i] * linear;
  }, 0);
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

const hex = (rgb) => `#${rgb.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;
const mix = (a, b, t) => a.map((v, i) => v + (b[i] - v) * t);

/**
 * Text colours that meet WCAG AA whatever the brand colour (ours, a theme's or data-color):
 * `--wc-auto-on-primary` for text on the brand colour (white when it reads, else dark), and
 * `--wc-auto-link` for the brand colour as text (links, secondary buttons; on the page and in
 * agents' bubbles), moved towards the text colour until it reads. chat.css uses them unless a
 * theme sets its own `--wc-on-primary` / `--wc-link`. Runs again when the colour scheme changes.
 */
function fitContrast() {
  const root = document.documentElement;
  const style = getComputedStyle(root);
  const [brand, bg, bubble, text] = ['primary', 'bg', 'agent-bubble', 'text']
    .map((name) => rgbOf(style.getPropertyValue(`--wc-${name}`)));
  const on = [WHITE, [29, 35, 48], [0, 0, 0]].find((c) => contrast(c, brand) >= AA) || [0, 0, 0];
  root.style.setProperty('--wc-auto-on-primary', hex(on));
  // Hovered, the brand colour moves away from its text colour: the contrast only grows.
  root.style.setProperty('--wc-auto-primary-hover', hex(mix(brand, on === WHITE ? [0, 0, 0] : WHITE, 0.18)));
  let link = brand;
  const readable = (c) => Math.min(contrast(c, bg), contrast(c, bubble)) >= AA; // bubble: agents' links
  for (let t = 0.1; !readable(link) && t <= 1; t += 0.1) link = mix(brand, text, t);
  root.style.setProperty('--wc-auto-link', hex(link));
}

/** The look the host page asked for: data-color as `?color=#rrggbb` (the brand colour, over a
 * theme's), data-theme as `?theme=light|dark` (else the visitor's colour scheme). */
export function applyLook() {
  const params = new URLSearchParams(location.search);
  const root = document.documentElement;
  const color = params.get('color') || '';
  if (/^#[0-9a-f]{6}$/i.test(color)) root.style.setProperty('--wc-primary', color);
  const theme = params.get('theme');
  if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
  fitContrast();
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', fitContrast);
}

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
    // Framed, desktop notifications are the host page's (browsers refuse them to frames).
    desktop.relay = (msg) => this.post('notify', msg);
    addEventListener('message', (e) => {
      if (e.source !== window.parent || e.origin !== this.origin) return;
      const data = e.data;
      if (data && data.webchat === 1 && typeof data.type === 'string') onMessage(data);
    });
  }

  get embedded() { return this.origin !== null; }

  /** Posts `{webchat: 1, type, ...data}` to the host page, and only to it. An agent's live
   * message (`message`) is also a desktop notification while the page is hidden. */
  post(type, data = {}) {
    if (type === 'message') desktop.show(data.from, data.text);
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

applyLook(); // once, as the page's modules load
