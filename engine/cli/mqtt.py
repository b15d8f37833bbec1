"""MQTT connection details shared by ``enms listen`` and ``enms simulate`` (paho-mqtt)."""
from urllib.parse import unquote, urlsplit

from ..errors import EnmsError

DEFAULT_PORT = 1883


def paho():
    """The paho-mqtt client module, or one line saying which extra installs it."""
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        raise EnmsError("live data needs its extra: pip install 'enms[live]' (paho-mqtt)") from None
    return mqtt


def parse_url(url: str) -> dict:
    """mqtt://[user[:password]@]host[:port] -> host, port, username, password."""
    parts = urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise EnmsError(f"--mqtt {url!r}: use mqtt://host[:port] (e.g. mqtt://127.0.0.1:1883)")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise EnmsError(f"--mqtt {url!r}: the port is not a number") from None
    return {"host": parts.hostname, "port": port,
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None}


def client(url: dict, client_id: str, **options):
    """A paho client (MQTT 5) for a parsed URL, credentials set, not yet connected."""
    mqtt = paho()
    made = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                       protocol=mqtt.MQTTv5, **options)
    if url["username"]:
        made.username_pw_set(url["username"], url["password"])
    return made
