"""``enms listen``: live meter and driver readings from an MQTT broker.

    enms listen --mqtt mqtt://127.0.0.1:1883                    # topics enms/+/meter/+, enms/+/driver/+
    enms listen --mqtt mqtt://broker:1883 --topic 'enms/+/+/+'
    enms listen --mqtt mqtt://user:secret@broker:1883 --mapping plant-topics.toml

Topics, payloads and the mapping file: engine/stream.py and
docs/user-guide.md ("Live data over MQTT"). Delivery is at least once: the
listener subscribes with QoS 1 on a persistent session (MQTT 5, its
``--client-id``) and acknowledges a message only after its batch is
committed, so a message is redelivered after a crash and counted once
(writes are idempotent). A lost broker is reconnected with backoff (1 s to
30 s); a failed database write keeps the batch and retries it (0.5 s to 30 s),
holding at most ``--max-pending`` messages and one batch in transit meanwhile
(the broker keeps the rest). Malformed messages and refused readings are one log line each on
stderr and counted. SIGTERM or Ctrl-C writes what is held and prints the
counts.
"""
import logging
import queue
import signal
import socket
import threading
import time

import sqlalchemy as sa

from .. import notify, realtime, stream
from ..errors import EnmsError
from . import mqtt

log = logging.getLogger("enms.listen")
KEEPALIVE_S = 30
SESSION_EXPIRY_S = 7 * 86400   # the broker keeps our subscription and messages this long
RECONNECT_S = (1, 30)
TICK_S = 5.0                   # silence checks while no data arrives


def register(sub, common) -> None:
    """Add ``listen`` to the ``enms`` subcommands."""
    p = sub.add_parser("listen", parents=[common],
                       help="ingest live readings from MQTT, with real-time alerts")
    p.add_argument("--mqtt", required=True, metavar="URL", help="broker, mqtt://host[:port]")
    p.add_argument("--topic", action="append", metavar="FILTER",
                   help="topic filter to subscribe (repeat; default: the routes' topics)")
    p.add_argument("--mapping", metavar="FILE",
                   help="TOML file routing a plant's own topics (tried before enms/...)")
    p.add_argument("--client-id", default=f"enms-listen-{socket.gethostname()}",
                   help="MQTT client id of the persistent session (default enms-listen-HOST)")
    p.add_argument("--batch", type=int, default=stream.BATCH_MESSAGES,
                   help=f"messages per write (default {stream.BATCH_MESSAGES})")
    p.add_argument("--batch-age", type=float, default=stream.BATCH_AGE_S,
                   help=f"write at least this often [s] (default {stream.BATCH_AGE_S:g})")
    p.add_argument("--max-pending", type=int, default=stream.MAX_PENDING,
                   help=f"messages held while the database is away (default {stream.MAX_PENDING})")
    p.add_argument("--stats-every", type=float, default=60.0,
                   help="log the counts every N seconds (default 60; 0: never)")
    p.add_argument("--no-monitor", action="store_true", help="no real-time checks or alerts")
    p.add_argument("--no-notify", action="store_true", help="store alerts, send nothing")
    p.set_defaults(func=cmd_listen)


def cmd_listen(store, args):
    url = mqtt.parse_url(args.mqtt)
    routes = list(stream.DEFAULT_ROUTES)
    if args.mapping:
        routes = stream.load_mapping(args.mapping) + routes
    if args.batch < 1 or args.batch_age <= 0 or args.max_pending < args.batch:
        raise EnmsError("need --batch >= 1, --batch-age > 0 and --max-pending >= --batch")
    monitor = None
    if not args.no_monitor:
        monitor = realtime.Monitor([] if args.no_notify else notify.load_notifiers())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    listener = Listener(store, url, args.topic or sorted({r.subscription for r in routes}),
                        routes, args, monitor)
    return listener.run()


class Listener:
    """The MQTT client (paho's network thread, which also parses each message
    as it arrives) feeding the batch writer (this thread)."""

    def __init__(self, store, url: dict, topics: list[str], routes, args, monitor):
        self.store, self.url, self.topics, self.routes = store, url, topics, routes
        self.args, self.monitor = args, monitor
        self.inbox = queue.Queue(maxsize=args.batch)  # in transit to the batcher
        self.batcher = stream.Batcher(args.batch, args.batch_age)
        self.backoff = stream.Backoff()
        self.stats = stream.Stats()
        self.anchors = {}        # counter readings not stored (stream.write)
        self.stop = threading.Event()
        self.session = 0         # connection number: acknowledgements are per connection
        self.reconnects = 0
        self.evaluator = None    # the thread of the day-end evaluation, when one runs
        self.client = mqtt.client(url, args.client_id, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # paho's network thread ------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        self.session += 1
        self.reconnects += self.session > 1
        options = mqtt.paho().SubscribeOptions(qos=1)
        client.subscribe([(topic, options) for topic in self.topics])
        log.info("connected host=%s port=%s session_present=%s topics=%s", self.url["host"],
                 self.url["port"], flags.session_present, ",".join(self.topics))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if not self.stop.is_set():
            log.warning("broker connection lost (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        # Parsed here, so parsing overlaps the writer's database waits.
        # Blocks when --max-pending messages (and one batch in transit) are
        # held: the broker keeps the rest.
        received = stream.Message(message.topic, message.payload, time.time(),
                                  (self.session, message.mid, message.qos))
        received.parse(self.routes)
        self.inbox.put(received)

    # the writer -----------------------------------------------------------------------

    def run(self) -> dict:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())
        paho = mqtt.paho()
        props = paho.Properties(paho.PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = min(65535, self.args.max_pending)
        self.client.reconnect_delay_set(*RECONNECT_S)
        self.client.connect_async(self.url["host"], self.url["port"], KEEPALIVE_S,
                                  clean_start=False, properties=props)
        self.client.loop_start()
        retry_at = last_stats = last_tick = time.monotonic()
        try:
            while not self.stop.is_set():
                self._take(timeout=0.1)
                now = time.monotonic()
                if self.batcher.due(time.time()) and now >= retry_at:
                    if not self._write():
                        retry_at = now + self.backoff.next_delay()
                if self.monitor is not None and now - last_tick >= TICK_S:
                    self._tick()
                    last_tick = now
                self._evaluate_ended_days()
                if self.args.stats_every and now - last_stats >= self.args.stats_every:
                    log.info("stats %s", _line(self._counts()))
                    last_stats = now
            self._take(timeout=0)
            while self.batcher.pending and self._write():  # what is held, once more
                pass
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            if self.evaluator is not None:
                self.evaluator.join()
        counts = self._counts()
        log.info("stopped %s", _line(counts))
        return counts

    def _take(self, timeout: float) -> None:
        """Move received messages into the batcher, as long as fewer than the bound are held."""
        try:
            if timeout:
                self.batcher.add(self.inbox.get(timeout=timeout))
            while len(self.batcher.pending) < self.args.max_pending:
                self.batcher.add(self.inbox.get_nowait())
        except queue.Empty:
            pass

    def _write(self) -> bool:
        batch = self.batcher.next_batch()
        try:
            stream.flush(self.store, batch, self.routes, self.stats, self.monitor,
                         anchors=self.anchors)
        except (EnmsError, sa.exc.SQLAlchemyError) as exc:
            self.stats.write_failures += 1
            log.warning("database write failed (%s); %d messages kept, retrying",
                        " ".join(str(exc).split())[:300], len(self.batcher.pending))
            return False
        self.backoff.reset()
        self.batcher.done(len(batch))
        for session, mid, qos in (m.token for m in batch):
            if qos and session == self.session:  # a mid of an earlier connection is void
                self.client.ack(mid, qos)
        return True

    def _evaluate_ended_days(self) -> None:
        """The day-end evaluation in its own thread, so ingest goes on meanwhile;
        days that end while it runs wait for the next one."""
        if self.monitor is None or not self.monitor.ended or \
                (self.evaluator is not None and self.evaluator.is_alive()):
            return
        self.evaluator = threading.Thread(target=self._evaluate, name="enms-evaluate",
                                          daemon=True)
        self.evaluator.start()

    def _evaluate(self) -> None:
        try:
            self.stats.alerts += len(self.monitor.evaluate_ended(self.store))
        except (EnmsError, sa.exc.SQLAlchemyError) as exc:
            log.warning("day-end evaluation skipped (%s)", " ".join(str(exc).split())[:300])

    def _tick(self) -> None:
        try:
            self.stats.alerts += len(self.monitor.tick(self.store))
        except (EnmsError, sa.exc.SQLAlchemyError) as exc:
            log.warning("real-time checks skipped (%s)", " ".join(str(exc).split())[:300])

    def _counts(self) -> dict:
        return {**self.stats.as_dict(), "held": len(self.batcher.pending) + self.inbox.qsize(),
                "reconnects": self.reconnects}


def _line(counts: dict) -> str:
    return " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in counts.items())
