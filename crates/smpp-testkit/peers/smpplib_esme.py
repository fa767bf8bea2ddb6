"""An ESME written with the Python `smpplib` package: binds as a transceiver to HOST:PORT,
submits COUNT messages asking for receipts, and waits for every submit_sm_resp and receipt.
Prints one JSON object with what it saw; exits non-zero if anything is missing."""
import json
import sys

import smpplib.client
import smpplib.consts

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = {"acked": [], "statuses": [], "receipts": [], "bound": False}

client = smpplib.client.Client(host, port, timeout=5, allow_unknown_opt_params=True)
client.set_message_sent_handler(
    lambda pdu: (seen["acked"].append(pdu.message_id.decode()), seen["statuses"].append(pdu.status))
)


def on_deliver(pdu):
    seen["receipts"].append(pdu.short_message.decode(errors="replace"))


client.set_message_received_handler(on_deliver)
client.connect()
client.bind_transceiver(system_id="esme", password="pw")
seen["bound"] = True
for i in range(count):
    client.send_message(
        source_addr_ton=smpplib.consts.SMPP_TON_INTL,
        source_addr="12345",
        dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
        destination_addr="1555%07d" % i,
        short_message=("hello %d" % i).encode(),
        registered_delivery=1,
    )
while len(seen["acked"]) < count or len(seen["receipts"]) < count:
    client.read_once()
client.unbind()
client.disconnect()
print(json.dumps(seen))
