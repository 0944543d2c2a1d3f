/**
 * Audio and video calls with the agent, and callback and text-message requests, over the chat's
 * signalling (chat_session_signaling; docs/protocol.md, Calls). Loaded by controller.js with
 * import() only when the agent offers a call or the visitor opens the call menu, with its own
 * strings (GET /chat/strings/calls) and stylesheet (calls.css). Sound and pictures flow between
 * this page and ServicePattern directly; the chat's socket carries the signalling only.
 */
import { addStrings, t } from './i18n.js';
import { uuid } from './util.js';

const SIGNAL = 'chat_session_signaling';
const TICK_MS = 1000;
// Arabic-Indic and Extended Arabic-Indic digits, as an Arabic or Persian keyboard types them.
const LOCAL_DIGITS = /[\u0660-\u0669\u06f0-\u06f9]/g;
const PHONE = /^\+?[0-9]{4,15}$/;

/** The module with its strings and stylesheet loaded; `app` is the controller's App, `signals`
 * what it kept before (an offer nobody answered yet, and what followed it). */
export async function load(app, signals) {
  const css = Object.assign(document.createElement('link'), { rel: 'stylesheet', href: new URL('calls.css', import.meta.url).href });
  const styled = new Promise((done) => { css.onload = css.onerror = done; });
  document.head.append(css);
  const lang = encodeURIComponent(document.documentElement.lang || 'en');
  const strings = fetch(`/chat/strings/calls?lang=${lang}`).then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  addStrings(await strings);
  await styled;
  const calls = new Calls(app);
  for (const ev of signals.splice(0)) calls.signal(ev, false, false); // also those that came meanwhile
  return calls;
}

/** A phone number as the relay takes it (digits, optional leading +), or null. */
export function phoneNumber(text) {
  const digits = String(text).replace(LOCAL_DIGITS, (d) => String(d.charCodeAt(0) & 0xf))
    .replace(/[\s().\-\u00a0]/g, '');
  return PHONE.test(digits) ? digits : null;
}

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};
const button = (text, cls, onclick) => el('button', { type: 'button', className: `wc-button ${cls}`, textContent: text, onclick });
const ICONS = {
  mic: 'M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3',
  cam: 'M3 7h12v10H3zM15 10l6-3v10l-6-3',
  end: 'M3 14c5-5 13-5 18 0l-2 3-4-2v-2a9 9 0 0 0-6 0v2l-4 2z',
};
function icon(name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  for (const [k, v] of Object.entries({ width: 20, height: 20, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true', focusable: 'false' })) svg.setAttribute(k, v);
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

/**
 * One tab's calls. The agent's offer rings here (again after a reload, while nobody answered
 * it); the tab that answers holds the call; another tab of the visitor only stops ringing.
 */
export class Calls {
  /** @param {import('./controller.js').App} app */
  constructor(app) {
    this.app = app;
    Object.assign(this, { offer: null, candidates: [], pc: null, local: null, requested: null, started: 0, timer: 0, agentVideo: true, agentId: null });
    this.root = el('section', { className: 'wc-calls', hidden: true });
    this.root.setAttribute('aria-label', t('calls.region'));
    this.status = el('p', { className: 'wc-calls-status' });
    this.status.setAttribute('role', 'status');
    this.panel = el('div', { className: 'wc-calls-panel' });
    this.root.append(this.panel, this.status);
    app.els.main.insertBefore(this.root, app.els.transcript);
    this.onKey = (e) => { if (e.key === 'Escape' && this.panel.dataset.kind === 'menu') { e.preventDefault(); this.close(true); } };
    this.root.addEventListener('keydown', this.onKey);
    addEventListener('pagehide', () => { if (this.pc) this.hangUp(); });
  }

  // ------------------------------------------------------------ signals from the agent

  /** One chat_session_signaling event (`own`: this visitor's, from any of their tabs). */
  signal(ev, own, live) {
    const data = ev.data && typeof ev.data === 'object' ? ev.data : {};
    const type = data.type;
    if (own) { // another tab (or this one) answered, ended or declined: stop ringing here
      if ((type === 'ANSWER_CALL' || type === 'END_CALL') && this.offer && !this.pc) this.dismiss();
      return;
    }
    if (type === 'OFFER_CALL' && typeof data.sdp === 'string') this.ring(ev, data, live);
    else if (type === 'ICE_CANDIDATE' && data.candidate) this.candidate(data);
    else if (type === 'END_CALL' && this.offer && !this.pc) {
      this.dismiss();
      this.setStatus(t('calls.missed', { name: this.app.nameOf(ev.party_id) }));
    } else if (type === 'END_CALL') this.ended(t('calls.endedByAgent', { name: this.app.nameOf(ev.party_id) }));
    else if (type === 'CALL_REJECTED') {
      if (this.offer) this.dismiss();
      this.ended(t('calls.rejected', { name: this.app.nameOf(ev.party_id) }));
    } else if (type === 'CALL_STATE' && typeof data.videoEnabled === 'boolean') {
      this.agentVideo = data.videoEnabled;
      this.renderVideo();
    } else if (type === 'ANSWER_CALL' && this.pc && typeof data.sdp === 'string') {
      this.pc.setRemoteDescription({ type: 'answer', sdp: data.sdp }).then(() => this.flush(), () => this.fail());
    }
  }

  ring(ev, data, live) {
    if (this.pc) return; // one call at a time
    this.offer = { sdp: data.sdp, video: data.offerVideo === true, from: ev.party_id };
    this.agentId = ev.party_id;
    this.candidates = [];
    if (this.requested) { // the visitor asked for this call: it starts without a second question
      const video = this.requested.video && this.offer.video;
      this.requested = null;
      return void this.accept(video);
    }
    const name = this.app.nameOf(ev.party_id);
    const title = el('p', { className: 'wc-calls-title', id: 'wc-calls-title', textContent: t(this.offer.video ? 'calls.incomingVideo' : 'calls.incoming', { name }) });
    title.setAttribute('role', 'alert');
    const actions = el('div', { className: 'wc-calls-actions' },
      button(t('calls.acceptAudio'), 'wc-button--primary wc-calls-accept', () => this.accept(false)));
    if (this.offer.video) actions.append(button(t('calls.acceptVideo'), 'wc-button--primary wc-calls-accept', () => this.accept(true)));
    actions.append(button(t('calls.decline'), 'wc-button--danger', () => this.decline()));
    const error = el('p', { className: 'wc-form-error' });
    error.setAttribute('role', 'alert');
    this.show('prompt', title, actions, error);
    this.setStatus('');
    if (live) this.app.notifier.message();
  }

  candidate(data) {
    const { candidate, sdpMid = null, sdpMLineIndex = null } = data;
    this.candidates.push({ candidate, sdpMid, sdpMLineIndex });
    if (this.pc && this.pc.remoteDescription) this.flush();
  }

  flush() {
    for (const c of this.candidates.splice(0)) this.pc.addIceCandidate(c).catch(() => {});
  }

  // ------------------------------------------------------------ the visitor's side

  /** The party_id of the agent the header shows. */
  shownAgent() {
    for (const [id, party] of this.app.parties) if (party === this.app.agent) return id;
    return null;
  }

  send(data, reliable = true) {
    const event = { event: SIGNAL, destination_party_id: this.agentId || this.shownAgent() || '', data };
    if (reliable) return this.app.sendReliable(event);
    return this.app.conn.send({ type: 'send', id: uuid(), event });
  }

  /** Microphone (and camera): on refusal the prompt stays, saying why, so the visitor can
   * allow it and try again, or decline. Camera refused alone: the call goes on with sound. */
  async media(video) {
    const devices = navigator.mediaDevices;
    if (!devices || !window.RTCPeerConnection) throw new Error(t('calls.unsupported'));
    try {
      return await devices.getUserMedia({ audio: true, video });
    } catch (error) {
      if (video) {
        const audio = await this.media(false);
        this.setStatus(t('calls.noCamera'));
        return audio;
      }
      const denied = error && (error.name === 'NotAllowedError' || error.name === 'SecurityError');
      throw new Error(t(denied ? 'calls.micDenied' : 'calls.micMissing'));
    }
  }

  async accept(video) {
    const offer = this.offer;
    if (!offer || this.pc) return;
    this.setStatus(t('calls.starting'));
    let local;
    try { local = await this.media(video); } catch (error) {
      if (this.panel.dataset.kind === 'prompt') return void this.problem(error.message);
      this.send({ type: 'END_CALL' }); // asked for by the visitor, and no way to take it
      this.dismiss();
      this.close(false);
      return void this.setStatus(error.message);
    }
    if (this.offer !== offer) return void local.getTracks().forEach((tr) => tr.stop()); // gone meanwhile
    this.offer = null;
    this.local = local;
    const pc = this.pc = new RTCPeerConnection();
    pc.onicecandidate = (e) => {
      if (e.candidate) this.send({ type: 'ICE_CANDIDATE', candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex });
    };
    pc.ontrack = (e) => {
      const stream = e.streams[0] || new MediaStream([e.track]);
      this.sound.srcObject = stream;
      this.remote.srcObject = stream;
      this.renderVideo();
    };
    pc.onconnectionstatechange = () => this.onConnection(pc.connectionState);
    this.setStatus('');
    this.showCall();
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
      for (const track of local.getTracks()) pc.addTrack(track, local);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      this.send({ type: 'ANSWER_CALL', sdp: answer.sdp });
      this.sendState();
      this.flush();
    } catch {
      this.fail();
    }
  }

  decline() {
    this.send({ type: 'END_CALL' });
    this.dismiss();
    this.setStatus(t('calls.declined'));
    this.app.focusEntry();
  }

  hangUp() {
    if (!this.pc && !this.requested) return;
    this.send({ type: 'END_CALL' });
    this.requested = null;
    this.ended(t('calls.ended'));
  }

  fail() {
    if (this.pc) this.send({ type: 'END_CALL' });
    this.ended(t('calls.failed'));
  }

  onConnection(state) {
    if (state === 'connected' && !this.started) {
      this.started = Date.now();
      this.withLine.textContent = t('calls.connected', { name: this.app.nameOf(this.agentId) });
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.tick();
    } else if (state === 'failed') this.fail();
  }

  tick() {
    const s = Math.floor((Date.now() - this.started) / 1000);
    const mm = String(Math.floor(s / 60)).padStart(2, '0');
    this.clock.textContent = `${mm}:${String(s % 60).padStart(2, '0')}`;
    this.clock.dateTime = `PT${s}S`;
  }

  /** Ends the call here (whoever ended it) and says so. */
  ended(line) {
    const had = !!(this.pc || this.requested || this.panel.dataset.kind === 'requesting');
    if (this.pc) this.pc.close();
    if (this.local) this.local.getTracks().forEach((tr) => tr.stop());
    clearInterval(this.timer);
    Object.assign(this, { pc: null, local: null, started: 0, timer: 0, agentVideo: true, requested: null });
    if (had || this.panel.dataset.kind === 'call') {
      const focused = this.root.contains(document.activeElement);
      this.close(false);
      this.setStatus(line);
      if (focused) this.app.focusEntry();
    }
  }

  /** The chat ended, or another began: no call survives it. */
  reset() {
    if (this.pc) this.send({ type: 'END_CALL' });
    this.ended('');
    this.dismiss();
    this.setStatus('');
  }

  sendState() {
    const track = (kind) => this.local && this.local.getTracks().find((tr) => tr.kind === kind);
    const audio = track('audio'), video = track('video');
    this.send({ type: 'CALL_STATE', audioEnabled: !!audio && audio.enabled, videoEnabled: !!video && video.enabled }, false);
  }

  dismiss() {
    this.offer = null;
    this.candidates = [];
    if (this.panel.dataset.kind === 'prompt') this.close(false);
  }

  // ------------------------------------------------------------ what is shown

  show(kind, ...children) {
    this.panel.dataset.kind = kind;
    this.panel.replaceChildren(...children);
    this.root.hidden = false;
  }

  close(focusBack) {
    this.panel.dataset.kind = '';
    this.panel.replaceChildren();
    this.root.hidden = !this.status.textContent;
    if (focusBack) this.app.els.callButton.focus();
  }

  setStatus(text) {
    this.status.textContent = text;
    this.root.hidden = !text && !this.panel.dataset.kind;
  }

  problem(text) {
    this.setStatus('');
    this.panel.querySelector('.wc-form-error').textContent = text;
  }

  showCall() {
    const toggle = (label, name, pressedLabel, onToggle) => {
      const b = el('button', { type: 'button', className: 'wc-icon-button wc-calls-toggle', title: label });
      b.setAttribute('aria-pressed', 'false');
      const text = el('span', { className: 'wc-visually-hidden', textContent: label });
      b.append(icon(name), text);
      b.onclick = () => {
        const on = b.getAttribute('aria-pressed') !== 'true';
        b.setAttribute('aria-pressed', String(on));
        b.title = on ? pressedLabel : label;
        onToggle(on);
      };
      return b;
    };
    const enable = (kind, on) => {
      for (const tr of this.local ? this.local.getTracks() : []) if (tr.kind === kind) tr.enabled = on;
      this.sendState();
      this.renderVideo();
    };
    this.remote = el('video', { className: 'wc-calls-remote', autoplay: true, playsInline: true, muted: true });
    this.mine = el('video', { className: 'wc-calls-local', autoplay: true, playsInline: true, muted: true, srcObject: this.local });
    this.sound = el('audio', { autoplay: true });
    this.camOff = el('p', { className: 'wc-calls-camoff', textContent: t('calls.cameraOff', { name: this.app.nameOf(this.agentId) }) });
    this.videos = el('div', { className: 'wc-calls-media' }, this.remote, this.camOff, this.mine, this.sound);
    this.clock = el('time', { className: 'wc-calls-clock', textContent: '00:00' });
    const mute = toggle(t('calls.mute'), 'mic', t('calls.mute'), (on) => enable('audio', !on));
    this.withLine = el('span', { className: 'wc-calls-with', textContent: t('calls.starting') });
    this.withLine.setAttribute('role', 'status');
    const bar = el('div', { className: 'wc-calls-bar' }, this.withLine, this.clock, mute);
    if (this.local.getVideoTracks().length) bar.append(toggle(t('calls.cameraStop'), 'cam', t('calls.cameraStop'), (on) => enable('video', !on)));
    const hang = el('button', { type: 'button', className: 'wc-icon-button wc-calls-hangup', title: t('calls.hangUp'), onclick: () => this.hangUp() },
      icon('end'), el('span', { className: 'wc-visually-hidden', textContent: t('calls.hangUp') }));
    bar.append(hang);
    this.show('call', this.videos, bar);
    this.renderVideo();
    hang.focus();
  }

  /** Pictures only when someone's camera is on; the agent's turned off says so in words. */
  renderVideo() {
    if (!this.videos) return;
    const live = (stream, kind) => !!stream && stream.getTracks().some((tr) => tr.kind === kind && tr.readyState === 'live' && tr.enabled);
    const remote = this.agentVideo && !!this.remote.srcObject && this.remote.srcObject.getVideoTracks().length > 0;
    const mine = live(this.local, 'video');
    this.videos.hidden = !remote && !mine && this.agentVideo;
    this.remote.hidden = !remote;
    this.camOff.hidden = remote || (this.agentVideo && !mine);
    this.mine.hidden = !mine;
    this.videos.classList.toggle('wc-calls-media--solo', !remote);
  }

  // ------------------------------------------------------------ the visitor asks

  /** The call menu (the header's call button): a call, a callback or a text message. */
  openMenu() {
    if (this.pc) return void this.panel.querySelector('.wc-calls-hangup').focus();
    if (this.panel.dataset.kind === 'menu') return void this.close(true);
    const name = this.app.agent ? this.app.agent.name : t('chat.agent');
    const title = el('p', { className: 'wc-calls-title', id: 'wc-calls-title', textContent: t('calls.menuTitle', { name }) });
    const choices = el('div', { className: 'wc-calls-actions wc-calls-menu' },
      button(t('calls.audio'), 'wc-button--secondary', () => this.request(false)),
      button(t('calls.video'), 'wc-button--secondary', () => this.request(true)),
      button(t('calls.callback'), 'wc-button--secondary', () => this.numberForm('REQUEST_PHONE_CALL')),
      button(t('calls.sms'), 'wc-button--secondary', () => this.numberForm('REQUEST_SMS')),
      button(t('calls.cancel'), 'wc-button--link', () => this.close(true)));
    choices.setAttribute('role', 'group');
    choices.setAttribute('aria-labelledby', 'wc-calls-title');
    this.show('menu', title, choices);
    this.setStatus('');
    choices.firstChild.focus();
  }

  request(video) {
    if (!this.send({ type: 'REQUEST_CALL', offerVideo: video })) return;
    this.requested = { video };
    const cancel = button(t('calls.cancel'), 'wc-button--secondary', () => this.hangUp());
    const title = el('p', { className: 'wc-calls-title', textContent: t('calls.requesting', { name: this.app.nameOf(this.shownAgent()) }) });
    this.show('requesting', title, el('div', { className: 'wc-calls-actions' }, cancel));
    cancel.focus();
  }

  /** A phone number for a callback (REQUEST_PHONE_CALL) or a text (REQUEST_SMS). */
  numberForm(type) {
    const sms = type === 'REQUEST_SMS';
    const input = el('input', { id: 'wc-calls-number', className: 'wc-input wc-calls-number', type: 'tel', name: 'number', autocomplete: 'tel', dir: 'ltr', inputMode: 'tel', required: true });
    input.setAttribute('aria-describedby', 'wc-calls-number-hint wc-calls-number-error');
    const label = el('label', { className: 'wc-label', htmlFor: 'wc-calls-number', textContent: t('calls.number') });
    const hint = el('p', { className: 'wc-hint wc-calls-hint', id: 'wc-calls-number-hint', textContent: t('calls.numberHint') });
    const error = el('p', { className: 'wc-form-error', id: 'wc-calls-number-error' });
    error.setAttribute('role', 'alert');
    const submit = el('button', { type: 'submit', className: 'wc-button wc-button--primary', textContent: t(sms ? 'calls.smsSend' : 'calls.callbackSend') });
    const form = el('form', { className: 'wc-calls-form', noValidate: true },
      el('p', { className: 'wc-calls-title', textContent: t(sms ? 'calls.smsTitle' : 'calls.callbackTitle') }),
      el('div', { className: 'wc-field' }, label, hint, input, error),
      el('div', { className: 'wc-calls-actions' }, submit, button(t('calls.cancel'), 'wc-button--link', () => this.close(true))));
    // Arabic-Indic digits become 0-9 as they are typed: spaced groups of them would show in
    // reverse order in the left-to-right field, and the number goes out in 0-9 anyway.
    input.oninput = () => {
      const latin = input.value.replace(LOCAL_DIGITS, (d) => String(d.charCodeAt(0) & 0xf));
      if (latin === input.value) return;
      const at = input.selectionStart;
      input.value = latin;
      input.setSelectionRange(at, at);
    };
    form.onsubmit = (e) => {
      e.preventDefault();
      const number = phoneNumber(input.value);
      input.setAttribute('aria-invalid', String(!number));
      if (!number) { error.textContent = t('calls.numberInvalid'); return void input.focus(); }
      if (!this.send({ type, number })) { error.textContent = t('error.notConnected'); return; }
      this.close(false);
      this.setStatus(t(sms ? 'calls.smsAsked' : 'calls.callbackAsked', { number: `\u2066${number}\u2069` }));
      this.app.focusEntry();
    };
    this.show('form', form);
    this.setStatus('');
    input.focus();
  }
}
