"""Run the fake Twilio and Slack on loopback, to try paging without real providers:

    .venv/bin/python -m tests.fakes --twilio-port 5081 --slack-port 5082

It prints the settings to start Vigil with, then every SMS and Slack message Vigil sends.
"""
from __future__ import annotations

import argparse
import time

from tests.fakes.slack_server import FakeSlack
from tests.fakes.twilio_server import FROM_NUMBER, FakeTwilio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--twilio-port", type=int, default=5081)
    parser.add_argument("--slack-port", type=int, default=5082)
    args = parser.parse_args()
    twilio, slack = FakeTwilio(), FakeSlack()
    twilio._port, slack._port = args.twilio_port, args.slack_port
    twilio.start()
    slack.start()
    print("Start Vigil with these settings (in the same shell as `vigil up`):\n"
          f"  export TWILIO_ACCOUNT_SID={twilio.account_sid} TWILIO_AUTH_TOKEN={twilio.auth_token} "
          f"TWILIO_FROM_NUMBER={FROM_NUMBER} TWILIO_API_URL={twilio.url}\n"
          f"  export SLACK_BOT_TOKEN={slack.token} SLACK_SIGNING_SECRET={slack.signing_secret} "
          f"SLACK_API_URL={slack.url}\n", flush=True)
    seen_sms = seen_slack = 0
    try:
        while True:
            for message in twilio.messages[seen_sms:]:
                print(f"SMS to {message.to}: {message.body}", flush=True)
            for post in slack.posts[seen_slack:]:
                print(f"Slack {post.channel}: {post.text}", flush=True)
            seen_sms, seen_slack = len(twilio.messages), len(slack.posts)
            time.sleep(0.2)
    except KeyboardInterrupt:
        twilio.stop()
        slack.stop()


if __name__ == "__main__":
    main()
