"""MQTT, the usual transport of IoT sensor data, as a source of rows and a sink for alarm events (extra ``[mqtt]``).

:class:`MqttLink` subscribes to the rows' topic and publishes each alarm event to another, with paho-mqtt (2.x).
Why paho and not aiomqtt: ``reconad watch`` is a plain synchronous loop; paho runs its network loop on its own
thread and hands messages over through a queue, with no asyncio to bring into a CLI; it is Eclipse's reference
client, the most used Python one, and it does the reconnecting itself (aiomqtt wraps paho and leaves reconnects
to the caller).

Delivery: QoS 1 both ways and a persistent session (``clean_session=False`` with a fixed client id), so the
broker keeps the subscription while the watcher is away and queues the rows published meanwhile; they arrive
after the reconnect, in order. A lost connection is retried with exponential back-off (``min_delay`` doubling up
to ``max_delay`` seconds). QoS 1 is *at least once*: after a broker crash a row it had not seen acknowledged may
come again.
"""

from __future__ import annotations

import queue
import threading
import time

from reconad.errors import InputError

MAX_CHUNK = 1 << 20  # bytes of queued messages handed over at once


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:1883`` for IPv6) as ``(host, port)``, or an InputError naming the fix."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--mqtt takes HOST:PORT (e.g. localhost:1883), got {text!r}")
    return host.strip("[]"), int(port)


class MqttLink:
    """A connection to an MQTT broker: rows from ``topic``, alarm events to ``alarms_topic`` (both QoS 1).

    ``chunks()`` yields the payloads received, each ending in a line break, joined as they queued up;
    ``publish(text)`` sends one alarm event; ``close()`` waits (up to ``timeout`` seconds) until the published
    events are acknowledged, then disconnects. ``on_status`` receives one line per connection change (connected,
    subscribed, lost and retrying), for the user's log.
    """

    def __init__(self, host: str, port: int, topic: str, alarms_topic: str | None = None, *,
                 client_id: str | None = None, keepalive: int = 30, min_delay: float = 0.5,
                 max_delay: float = 30.0, on_status=None):
        try:
            import paho.mqtt.client as mqtt
        except ImportError as exc:
            raise InputError("--mqtt needs paho-mqtt: pip install 'reconad[mqtt]'") from exc
        if not topic:
            raise InputError("--mqtt needs --topic, the topic the rows are published on (e.g. sensors/pump1)")
        self.host, self.port, self.topic, self.alarms_topic = host, port, topic, alarms_topic
        self.client_id = client_id or f"reconad-watch-{topic}"
        self._messages: queue.Queue[bytes] = queue.Queue()
        self._status = on_status or (lambda line: None)
        self._pending: list = []
        self._lock = threading.Lock()
        self._closing = False
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False,
                             protocol=mqtt.MQTTv311)
        client.max_queued_messages_set(0)  # alarms published while disconnected wait for the reconnect
        client.reconnect_delay_set(min_delay, max_delay)
        client.on_connect = self._connected
        client.on_subscribe = self._subscribed
        client.on_disconnect = self._disconnected
        client.on_message = self._message
        self.client = client
        client.connect_async(host, port, keepalive)
        client.loop_start()  # the network thread: connects, reconnects with back-off, acknowledges

    @classmethod
    def from_args(cls, args, on_status=None) -> MqttLink:
        """The link ``reconad watch --mqtt HOST:PORT --topic T [--alarms-topic A] [--client-id C]`` asks for."""
        host, port = parse_address(args.mqtt)
        return cls(host, port, args.topic, args.alarms_topic, client_id=args.client_id, on_status=on_status)

    # ---- the network thread's callbacks ----------------------------------------------------------------------------

    def _connected(self, client, userdata, flags, reason, properties=None) -> None:
        if reason.is_failure:
            self._status(f"connection to {self.host}:{self.port} refused: {reason}; retrying")
            return
        resumed = " (session resumed)" if flags.session_present else ""
        self._status(f"connected to {self.host}:{self.port}{resumed}")
        client.subscribe(self.topic, qos=1)  # again on every connect: harmless on a resumed session

    def _subscribed(self, client, userdata, mid, reasons, properties=None) -> None:
        self._status(f"subscribed to {self.topic} (QoS 1)")

    def _disconnected(self, client, userdata, flags, reason, properties=None) -> None:
        if not self._closing:
            self._status(f"connection to {self.host}:{self.port} lost ({reason}); reconnecting with back-off")

    def _message(self, client, userdata, message) -> None:
        payload = bytes(message.payload)
        self._messages.put(payload if payload.endswith(b"\n") else payload + b"\n")

    # ---- the watcher's side ----------------------------------------------------------------------------------------

    def chunks(self, poll: float = 0.5):
        """The rows' bytes as they arrive: one blocking wait, then everything already queued (until interrupted)."""
        while True:
            try:
                first = self._messages.get(timeout=poll)
            except queue.Empty:
                continue
            parts, size = [first], len(first)
            while size < MAX_CHUNK:
                try:
                    part = self._messages.get_nowait()
                except queue.Empty:
                    break
                parts.append(part)
                size += len(part)
            yield b"".join(parts)

    def publish(self, text: str) -> None:
        """Send one alarm event to ``alarms_topic`` (QoS 1; queued while disconnected); no topic, no message."""
        if self.alarms_topic is None:
            return
        info = self.client.publish(self.alarms_topic, text.encode(), qos=1)
        with self._lock:
            self._pending = [i for i in self._pending if not i.is_published()] + [info]

    def close(self, timeout: float = 10.0) -> None:
        """Wait for the published events' acknowledgements (up to ``timeout`` s), then disconnect."""
        deadline = time.monotonic() + timeout
        for info in self._pending:
            try:
                info.wait_for_publish(timeout=max(0.0, deadline - time.monotonic()))
            except (RuntimeError, ValueError):  # never queued: nothing to wait for
                continue
        self._closing = True
        self.client.disconnect()
        self.client.loop_stop()
