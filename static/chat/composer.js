/**
 * The message box (Enter sends, Shift+Enter is a newline; it grows with its text), debounced
 * typing notices, the attach button, Share location, and End chat with its confirmation dialog.
 */

const TYPING_IDLE_MS = 3000;
const MAX_ROWS_PX = 140;

export class Composer {
  /**
   * @param {Document} doc
   * @param {{onSend: function(string): void, onTyping: function(boolean): void, onFile: function(File): void,
   *   onEnd: function(): void, onLocation: function(): void}} handlers
   */
  constructor(doc, { onSend, onTyping, onFile, onEnd, onLocation }) {
    const $ = (id) => doc.getElementById(id);
    Object.assign(this, { onSend, onTyping, typing: false, idleTimer: 0 });
    Object.assign(this, { form: $('wc-composer'), input: $('wc-message'), fileInput: $('wc-file') });
    Object.assign(this, { sendButton: $('wc-send'), endButton: $('wc-end'), dialog: $('wc-end-dialog') });
    this.locationButton = $('wc-location');
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.submit(); }
    });
    this.input.addEventListener('input', () => { this.touch(); this.fit(); });
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
    this.input.value = '';
    this.fit();
    this.onSend(text);
    this.stopTyping();
    this.input.focus();
  }

  /** Grows the box with its text, up to a limit, then it scrolls. */
  fit() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_ROWS_PX)}px`;
  }

  /** Typing starts with the first keystroke and stops after 3 s idle, on send or when emptied. */
  touch() {
    clearTimeout(this.idleTimer);
    if (!this.input.value.trim()) return this.stopTyping();
    if (!this.typing) { this.typing = true; this.onTyping(true); }
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
