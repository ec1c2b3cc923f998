"""Run the fake Twilio and Slack and an SMTP sink on loopback, to try paging and the breach
playbook without real providers:

    .venv/bin/python -m tests.fakes --twilio-port 5081 --slack-port 5082 --smtp-port 5025

It prints the settings to start Vigil with, then every SMS, Slack message and e-mail Vigil sends.
"""
from __future__ import annotations

import argparse
import time

from aiosmtpd.controller import Controller

from tests.fakes.slack_server import FakeSlack
from tests.fakes.smtp import SINK_HOSTNAME, SmtpSink, _Handler
from tests.fakes.twilio_server import FROM_NUMBER, FakeTwilio

FROM_ADDRESS = "vigil@vigil.test"


def smtp_sink(port: int) -> SmtpSink:
    """tests.fakes.smtp's plain sink (no TLS, no login), on a port the user chose."""
    sink = SmtpSink()
    sink._controller = Controller(_Handler(sink), hostname="127.0.0.1", port=port, server_hostname=SINK_HOSTNAME)
    return sink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--twilio-port", type=int, default=5081)
    parser.add_argument("--slack-port", type=int, default=5082)
    parser.add_argument("--smtp-port", type=int, default=5025)
    args = parser.parse_args()
    twilio, slack, sink = FakeTwilio(), FakeSlack(), smtp_sink(args.smtp_port)
    twilio._port, slack._port = args.twilio_port, args.slack_port
    twilio.start()
    slack.start()
    sink.start()
    print("Start Vigil with these settings (in the same shell as `vigil up`):\n"
          f"  export TWILIO_ACCOUNT_SID={twilio.account_sid} TWILIO_AUTH_TOKEN={twilio.auth_token} "
          f"TWILIO_FROM_NUMBER={FROM_NUMBER} TWILIO_API_URL={twilio.url}\n"
          f"  export SLACK_BOT_TOKEN={slack.token} SLACK_SIGNING_SECRET={slack.signing_secret} "
          f"SLACK_API_URL={slack.url}\n"
          f"  export SMTP_URL='smtp://{sink.host}:{sink.port}?from={FROM_ADDRESS}'\n", flush=True)
    seen_sms = seen_slack = seen_mail = 0
    try:
        while True:
            for message in twilio.messages[seen_sms:]:
                print(f"SMS to {message.to}: {message.body}", flush=True)
            for post in slack.posts[seen_slack:]:
                print(f"Slack {post.channel}: {post.text}", flush=True)
            for mail in sink.received[seen_mail:]:
                print(f"E-mail to {', '.join(mail.rcpt_tos)}: {mail.message['Subject']}", flush=True)
            seen_sms, seen_slack, seen_mail = len(twilio.messages), len(slack.posts), len(sink.received)
            time.sleep(0.2)
    except KeyboardInterrupt:
        twilio.stop()
        slack.stop()
        sink.stop()


if __name__ == "__main__":
    main()
