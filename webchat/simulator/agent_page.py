"""The agent's side of audio and video calls, for demos and browser tests: a page the simulator
serves at /agent/<chat_id>, running a real WebRTC peer in a browser. It takes the visitor's
signals from GET /agent/<chat_id>/signals (a long poll) and sends its own through
POST /agent/<chat_id>/signal, which the simulator emits as the agent's chat_session_signaling.

It offers a call (audio or video) on a button or when the visitor asks for one, answers a
visitor's offer, hangs up, and turns its camera off and on (CALL_STATE). `window.agent` lets a
test drive it and read its RTCPeerConnection.
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Agent: calls</title>
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px system-ui,sans-serif;margin:1rem;max-width:48rem}
video{width:45%;background:#222;border-radius:6px}button{margin:.2rem}
#log{font:12px monospace;white-space:pre-wrap;max-height:14rem;overflow:auto}
</style></head><body>
<h1>Agent: calls with chat <code id="chat"></code></h1>
<p>Connection: <strong id="state">none</strong>. Visitor camera: <span id="camera">-</span></p>
<p><button id="audio">Offer audio call</button><button id="video">Offer video call</button>
<button id="hangup">Hang up</button><button id="cam">Camera off</button>
<label><input type="checkbox" id="decline"> Decline the visitor's requests</label></p>
<p><video id="local" autoplay muted playsinline></video>
<video id="remote" autoplay playsinline></video></p>
<div id="log" role="log"></div>
<script>
const base = location.pathname.replace(/\\/$/, '');
const $ = (id) => document.getElementById(id);
$('chat').textContent = decodeURIComponent(base.split('/').pop());
const agent = window.agent = { pc: null, local: null, signals: [], ended: 0, cameraOn: true };
let after = 0, queued = [];
const note = (text) => { $('log').textContent += text + '\\n'; };

async function send(data) {
  note('-> ' + data.type);
  const r = await fetch(base + '/signal', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(data),
  });
  if (!r.ok) note('signal refused: ' + r.status);
}

async function media(video) {
  agent.local = await navigator.mediaDevices.getUserMedia({ audio: true, video });
  $('local').srcObject = agent.local;
}

function peer() {
  const pc = agent.pc = new RTCPeerConnection();
  pc.onicecandidate = (e) => {
    if (e.candidate) send({ type: 'ICE_CANDIDATE', candidate: e.candidate.candidate,
      sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex });
  };
  pc.ontrack = (e) => { $('remote').srcObject = e.streams[0] || new MediaStream([e.track]); };
  pc.onconnectionstatechange = () => { $('state').textContent = pc.connectionState; };
  return pc;
}

function close() {
  if (agent.pc) agent.pc.close();
  if (agent.local) agent.local.getTracks().forEach((t) => t.stop());
  agent.pc = agent.local = null;
  queued = [];
  $('state').textContent = 'none';
}

agent.offer = async (video) => {
  close();
  await media(video);
  const pc = peer();
  agent.local.getTracks().forEach((t) => pc.addTrack(t, agent.local));
  if (!video) pc.addTransceiver('video', { direction: 'recvonly' });
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await send({ type: 'OFFER_CALL', sdp: offer.sdp, offerVideo: video });
};

agent.hangUp = async () => { close(); await send({ type: 'END_CALL' }); };

agent.camera = async (on) => {
  agent.cameraOn = on;
  if (agent.local) agent.local.getVideoTracks().forEach((t) => { t.enabled = on; });
  $('cam').textContent = on ? 'Camera off' : 'Camera on';
  await send({ type: 'CALL_STATE', audioEnabled: true, videoEnabled: on });
};

async function answer(data) {
  close();
  await media(!!data.offerVideo);
  const pc = peer();
  await pc.setRemoteDescription({ type: 'offer', sdp: data.sdp });
  agent.local.getTracks().forEach((t) => pc.addTrack(t, agent.local));
  const reply = await pc.createAnswer();
  await pc.setLocalDescription(reply);
  await send({ type: 'ANSWER_CALL', sdp: reply.sdp });
  flush();
}

function flush() {
  for (const c of queued.splice(0)) agent.pc.addIceCandidate(c).catch((e) => note(`ice: ${e}`));
}

async function onSignal(data) {
  agent.signals.push(data);
  note('<- ' + data.type);
  if (data.type === 'REQUEST_CALL') {
    if ($('decline').checked) await send({ type: 'CALL_REJECTED' });
    else await agent.offer(!!data.offerVideo);
  } else if (data.type === 'OFFER_CALL') await answer(data);
  else if (data.type === 'ANSWER_CALL' && agent.pc) {
    await agent.pc.setRemoteDescription({ type: 'answer', sdp: data.sdp });
    flush();
  } else if (data.type === 'ICE_CANDIDATE' && data.candidate) {
    const { candidate, sdpMid, sdpMLineIndex } = data;
    queued.push({ candidate, sdpMid, sdpMLineIndex });
    if (agent.pc && agent.pc.remoteDescription) flush();
  } else if (data.type === 'END_CALL') { agent.ended += 1; close(); }
  else if (data.type === 'CALL_STATE') $('camera').textContent = data.videoEnabled ? 'on' : 'off';
}

async function listen() {
  for (;;) {
    try {
      const r = await fetch(base + '/signals?after=' + after);
      if (r.status === 404) return note('the chat is gone');
      const body = await r.json();
      after = body.next;
      for (const data of body.signals) await onSignal(data);
      if (body.ended) return note('the chat has ended');
    } catch (e) {
      note('error: ' + e);
      await new Promise((ok) => setTimeout(ok, 1000));
    }
  }
}

$('audio').onclick = () => agent.offer(false);
$('video').onclick = () => agent.offer(true);
$('hangup').onclick = () => agent.hangUp();
$('cam').onclick = () => agent.camera(!agent.cameraOn);
agent.ready = fetch(base + '/signals?after=0&wait=0').then((r) => r.json()).then((b) => {
  after = b.next;
  listen();
});
</script></body></html>
"""
