/**
 * The message box (Enter sends, Shift+Enter is a newline; it grows with its text), its length
 * against the server's limit, debounced typing notices, the attach button, Share location, and
 * End chat with its confirmation dialog.
 */
import { t } from './i18n.js';

const TYPING_IDLE_MS = 3000;
const NEAR_LIMIT = 0.9; // the counter shows from this share of the limit

/** Characters as the server counts them (code points), of what would be sent. */
const length = (text) => [...text.trim()].length;

export class Composer {
  /**
   * @param {Document} doc
   * @param {{onSend: function(string): void, onTyping: function(boolean, string=): void, onFile: function(File): void,
   *   onEnd: function(): void, onLocation: function(): void}} handlers
   */
  constructor(doc, { onSend, onTyping, onFile, onEnd, onLocation }) {
    const $ = (id) => doc.getElementById(id);
    Object.assign(this, { onSend, onTyping, typing: false, idleTimer: 0 });
    Object.assign(this, { form: $('wc-composer'), input: $('wc-message'), fileInput: $('wc-file') });
    Object.assign(this, { sendButton: $('wc-send'), endButton: $('wc-end'), dialog: $('wc-end-dialog') });
    this.locationButton = $('wc-location');
    Object.assign(this, { count: $('wc-count'), note: $('wc-limit-note'), over: false });
    this.max = Number($('wc-app').dataset.maxChars) || 4000;
    this.preview = $('wc-app').dataset.typingPreview === 'true'; // drafts go with typing (TYPING_PREVIEW)
    this.number = new Intl.NumberFormat(doc.documentElement.lang || undefined);
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.submit(); }
    });
    this.input.addEventListener('input', () => { this.touch(); this.fit(); this.measure(); });
    this.fileInput.addEventListener('change', () => {
      const files = [...this.fileInput.files];
      this.fileInput.value = '';
      files.forEach(onFile);
    });
    this.endButton.addEventListener('click', () => this.dialog.showModal());
    this.dialog.addEventListener('close', () => {
      if (this.dialog.returnValue === 'yes') onEnd();
      else if (!this.endButton.hidden) this.endButton.focus();
      this.dialog.returnValue = '';
    });
    // Escape in the dialog closes the dialog, not the whole widget.
    this.dialog.addEventListener('keydown', (e) => { if (e.key === 'Escape') e.stopPropagation(); });
    const geo = 'geolocation' in navigator
      && !(document.featurePolicy && !document.featurePolicy.allowsFeature('geolocation'));
    this.locationButton.hidden = !geo;
    this.locationButton.addEventListener('click', onLocation);
  }

  focus() { this.input.focus({ preventScroll: true }); }

  submit() {
    const text = this.input.value.trim();
    if (!text || this.input.disabled) return;
    const excess = length(text) - this.max;
    if (excess > 0) { // refused here, saying why; the text stays for the visitor to shorten
      this.note.textContent = t('composer.notSent', { n: this.number.format(excess), max: this.number.format(this.max) });
      this.input.focus();
      return;
    }
    this.input.value = '';
    this.fit();
    this.measure();
    this.onSend(text);
    this.stopTyping();
    this.input.focus();
  }

  /** Grows the box with its text (up to the stylesheet's max-height, then it scrolls); empty,
   * it is the stylesheet's one line, whatever the placeholder. */
  fit() {
    const box = this.input;
    box.style.height = '';
    if (!box.value || box.scrollHeight <= box.clientHeight) return;
    box.style.height = `${box.scrollHeight + box.offsetHeight - box.clientHeight}px`;
  }

  /** The counter near the limit; past it the box is invalid and a note says so (a polite live
   * region, its text set only when it changes, so it is not read out at every keystroke). */
  measure() {
    const n = length(this.input.value);
    const fmt = (v) => this.number.format(v);
    const count = n >= this.max * NEAR_LIMIT ? t('composer.count', { n: fmt(n), max: fmt(this.max) }) : '';
    if (this.count.textContent !== count) this.count.textContent = count;
    const over = n > this.max;
    const note = over ? t('composer.tooLong', { max: fmt(this.max) }) : '';
    if (this.note.textContent !== note) this.note.textContent = note;
    if (over === this.over) return;
    this.over = over;
    this.form.classList.toggle('wc-over', over);
    if (over) this.input.setAttribute('aria-invalid', 'true');
    else this.input.removeAttribute('aria-invalid');
  }

  /** Typing starts with the first keystroke and stops after 3 s idle, on send or when emptied.
   * With previews, the draft goes along, again at most every 1.5 s (frames are rate-limited). */
  touch() {
    clearTimeout(this.idleTimer);
    const text = this.input.value.trim();
    if (!text) return this.stopTyping();
    if (!this.typing || (this.preview && Date.now() - this.sentAt > 1500)) {
      this.typing = true;
      this.sentAt = Date.now();
      this.onTyping(true, this.preview ? text : undefined);
    }
    this.idleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
    return undefined;
  }

  stopTyping() {
    clearTimeout(this.idleTimer);
    if (this.typing) { this.typing = false; this.onTyping(false); }
  }

  /** @param {boolean} on the chat accepts messages @param {boolean} canEnd End chat is offered */
  setEnabled(on, canEnd = on) {
    if (!on) this.stopTyping();
    if (!canEnd && this.dialog.open) this.dialog.close();
    for (const c of [this.input, this.fileInput, this.sendButton, this.locationButton]) c.disabled = !on;
    this.endButton.hidden = !canEnd;
  }

  contains(node) { return this.form.contains(node) || this.dialog.contains(node) || node === this.endButton; }
}
