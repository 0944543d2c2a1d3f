/**
 * Telling the visitor about messages they have not seen (the tab hidden, or the widget closed):
 * an unread count (in this page's title, and reported to the host page for its title and the
 * launcher's badge) and an optional beep (WebAudio; off by default, toggled in the header).
 */
import { store } from './storage.js';

const SOUND_KEY = 'webchat.sound';

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
