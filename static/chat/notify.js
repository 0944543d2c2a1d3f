/**
 * Telling the visitor about messages they have not seen (the tab hidden, or the widget closed):
 * an unread count (in this page's title, and reported to the host page for its title and the
 * launcher's badge), an optional beep (WebAudio; off by default, toggled in the header), and
 * desktop notifications while the page is hidden (see `desktop`).
 */
import { store } from './storage.js';

const SOUND_KEY = 'webchat.sound';

/**
 * Desktop notifications (the Notification API) of the agent's messages while the page is hidden.
 * Permission is asked for once the visitor sends their first message (never on load: a visitor
 * who has not chatted has no reason to grant it). Framed, the host page asks and shows them
 * (`relay`, set by host.js): browsers refuse both to cross-origin frames.
 */
export const desktop = {
  /** @type {null | function(object): void} */
  relay: null,
  asked: false,

  ask() {
    if (this.asked) return;
    this.asked = true;
    if (this.relay) this.relay({ ask: true });
    else if (window.Notification && Notification.permission === 'default') Notification.requestPermission();
  },

  /** Shows `body` from `title` if the page is hidden (and the visitor allowed notifications). */
  show(title, body) {
    if (document.visibilityState !== 'hidden') return;
    if (this.relay) this.relay({ title, body });
    else if (window.Notification && Notification.permission === 'granted') {
      new Notification(title, { body, tag: 'webchat' }).onclick = () => window.focus();
    }
  },
};

export class Notifier {
  /**
   * @param {HTMLButtonElement} soundButton the header's toggle (aria-pressed)
   * @param {function(number): void} onUnread gets the unread count whenever it changes
   */
  constructor(soundButton, onUnread) {
    Object.assign(this, { soundButton, onUnread, unread: 0, widgetOpen: true, audio: null });
    this.baseTitle = document.title;
    this.sound = store.get(SOUND_KEY, false, 'local') === true;
    this.renderSound();
    soundButton.addEventListener('click', () => {
      this.sound = !this.sound;
      store.set(SOUND_KEY, this.sound, 'local');
      this.renderSound();
      if (this.sound) this.beep(); // the click allows audio, and lets the visitor hear it
    });
    document.addEventListener('visibilitychange', () => this.seenMaybe());
    addEventListener('focus', () => this.seenMaybe());
    // The visitor's first message (Enter in the message box, or Send): seen here, in the capture
    // phase, before the composer empties the box.
    const box = document.getElementById('wc-message');
    if (!box) return;
    const sending = (e) => {
      const enter = e.type === 'keydown' && e.key === 'Enter' && !e.shiftKey && !e.isComposing;
      const send = enter ? e.target === box : e.type === 'submit' && e.target === box.form;
      if (send && box.value.trim()) desktop.ask();
    };
    document.addEventListener('keydown', sending, true);
    document.addEventListener('submit', sending, true);
  }

  /** Whether the visitor can see the chat now. */
  get seeing() { return this.widgetOpen && document.visibilityState === 'visible'; }

  setWidgetOpen(open) { this.widgetOpen = open; this.seenMaybe(); }

  /** A message from the agent arrived (live, not a replay). */
  message() {
    if (this.seeing) return;
    this.set(this.unread + 1);
    if (this.sound) this.beep();
  }

  seenMaybe() { if (this.seeing && this.unread) this.set(0); }

  set(n) {
    this.unread = n;
    document.title = n ? `(${n}) ${this.baseTitle}` : this.baseTitle;
    this.onUnread(n);
  }

  renderSound() { this.soundButton.setAttribute('aria-pressed', String(this.sound)); }

  /** A short two-tone beep; silent when audio is not allowed yet. */
  beep() {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      this.audio = this.audio || new Ctx();
      const ctx = this.audio;
      if (ctx.state === 'suspended') ctx.resume();
      const gain = ctx.createGain();
      gain.connect(ctx.destination);
      gain.gain.setValueAtTime(0.0001, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.15, ctx.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.3);
      [880, 1320].forEach((hz, i) => {
        const osc = ctx.createOscillator();
        osc.frequency.value = hz;
        osc.connect(gain);
        osc.start(ctx.currentTime + i * 0.12);
        osc.stop(ctx.currentTime + 0.12 + i * 0.12);
      });
    } catch { /* no audio: the count is still shown */ }
  }
}
