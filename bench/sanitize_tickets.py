"""A seeded generator of labelled support tickets for the sanitizer eval.

    .venv/bin/python bench/sanitize_tickets.py --tickets 400 --seed 7 > tickets.jsonl

Each ticket is free text built from sentence templates, with every sensitive value labelled by
character span and type (email, phone, card, iban, ssn, ip, dob, secret, url_credentials, person,
address), hard negatives labelled too (versions, builds, timestamps, ticket keys, commit hashes,
UUIDs, order/invoice ids, prices, error codes, product names), and the reporter's structured fields
(name, email) as a real ticket would carry them. Values come from Faker and from phonenumbers'
example numbers (randomised and re-validated), so every label is a value a checker would accept.
Secrets use one fake of every catalogued kind; none of them is real.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import sys
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from faker import Faker

PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "AU", "CA", "ES", "IT", "NL", "BR", "MX", "JP", "IE", "CH", "SE")
IBAN_LOCALES = ("de_DE", "fr_FR", "en_GB", "es_ES", "nl_NL", "it_IT", "pl_PL", "pt_PT", "fi_FI", "no_NO")
CARD_TYPES = ("visa16", "visa13", "mastercard", "amex", "discover", "jcb16", "diners")
PRODUCTS = ("Patchbay Cloud", "Acme Router X2", "DataSync Pro", "Nimbus Desk", "Orbit CRM", "FlowKit")


@dataclass
class Ticket:
    """Text under construction with its labels."""

    parts: list[str] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    negatives: list[dict[str, Any]] = field(default_factory=list)
    length: int = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def value(self, text: str, entity_type: str) -> None:
        self.spans.append({"start": self.length, "end": self.length + len(text), "type": entity_type})
        self.add(text)

    def negative(self, text: str, kind: str) -> None:
        self.negatives.append({"start": self.length, "end": self.length + len(text), "kind": kind})
        self.add(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


ALNUM = string.ascii_letters + string.digits
B64URL = ALNUM + "-_"


def fake_secrets(rng: random.Random) -> list[tuple[str, str, str]]:
    """(kind, prefix text, secret) for every catalogued kind; the secret is the labelled part."""
    jwt_head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    jwt_body = base64.urlsafe_b64encode(json.dumps({"sub": _rand(rng, ALNUM, 8)}).encode()).decode().rstrip("=")
    key_body = "\n".join(_rand(rng, ALNUM + "+/", 64) for _ in range(4))
    return [
        ("aws_access_key_id", "the AWS key ", "AKIA" + _rand(rng, string.ascii_uppercase + string.digits, 16)),
        ("aws_secret", "aws_secret_access_key=", _rand(rng, ALNUM + "+/", 40)),
        ("gcp_api_key", "our GCP key ", "AIza" + _rand(rng, B64URL, 35)),
        ("gcp_oauth", "client secret ", "GOCSPX-" + _rand(rng, B64URL, 28)),
        ("azure_storage", "connection string AccountName=prod;AccountKey=", _rand(rng, ALNUM + "+/", 86) + "=="),
        ("azure_ad", "Azure app secret ", _rand(rng, ALNUM, 3) + str(rng.randint(0, 9)) + "Q~" + _rand(rng, ALNUM, 34)),
        ("github", "a GitHub token ", "ghp_" + _rand(rng, ALNUM, 36)),
        ("github_fine", "fine-grained PAT ", "github_pat_" + _rand(rng, ALNUM, 22) + "_" + _rand(rng, ALNUM, 59)),
        ("gitlab", "GitLab token ", "glpat-" + _rand(rng, B64URL, 20)),
        ("slack", "the Slack bot token ", "xoxb-" + "-".join(_rand(rng, string.digits, 12) for _ in range(2)) + "-"
         + _rand(rng, ALNUM, 24)),
        ("slack_webhook", "webhook https://hooks.slack.com/services/", "T" + _rand(rng, ALNUM, 8) + "/B"
         + _rand(rng, ALNUM, 8) + "/" + _rand(rng, ALNUM, 24)),
        ("stripe", "Stripe key ", "sk_live_" + _rand(rng, ALNUM, 24)),
        ("openai", "OpenAI key ", "sk-proj-" + _rand(rng, B64URL, 58) + "T3BlbkFJ" + _rand(rng, B64URL, 58)),
        ("anthropic", "Anthropic key ", "sk-ant-api03-" + _rand(rng, B64URL, 93) + "AA"),
        ("atlassian", "Jira API token ", "ATATT3" + _rand(rng, B64URL, 186)),
        ("jwt", "session JWT ", f"{jwt_head}.{jwt_body}.{_rand(rng, B64URL, 43)}"),
        ("private_key", "the key file:\n", f"-----BEGIN RSA PRIVATE KEY-----\n{key_body}\n-----END RSA PRIVATE KEY-----"),
        ("authorization", "Authorization: Bearer ", _rand(rng, ALNUM, 40)),
        ("password", "password=", _rand(rng, ALNUM + "!#%", 14)),
        ("token", "token=", _rand(rng, ALNUM, 32)),
        ("secret", "secret: ", _rand(rng, ALNUM, 20)),
        ("generic", "the API key they gave us is ", _rand(rng, ALNUM, 40)),
    ]


def phone(rng: random.Random) -> tuple[str, str]:
    """(text, region) of a valid number in its region's international or (US/GB) national format."""
    region = rng.choice(PHONE_REGIONS)
    example = phonenumbers.example_number_for_type(region, rng.choice([0, 1]))  # fixed line / mobile
    assert example is not None
    national = str(example.national_number)
    for _ in range(50):
        digits = national[:-4] + _rand(rng, string.digits, 4)
        number = phonenumbers.parse("+" + str(example.country_code) + digits)
        if phonenumbers.is_valid_number(number):
            break
    else:
        number = example
    if region == "US":
        fmt = rng.choice([phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL])
        text = phonenumbers.format_number(number, fmt)
        return (text.replace(" ", "-", 1) if rng.random() < 0.3 and text.startswith("(") else text), region
    fmt = rng.choice([phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164])
    return phonenumbers.format_number(number, fmt), region


def card(fake: Faker, rng: random.Random) -> str:
    digits = fake.credit_card_number(rng.choice(CARD_TYPES))
    style = rng.random()
    if style < 0.4:
        return digits
    sep = " " if style < 0.75 else "-"
    groups = [digits[:4], digits[4:10], digits[10:]] if len(digits) == 15 else [
        digits[i : i + 4] for i in range(0, len(digits), 4)
    ]
    return sep.join(groups)


def iban(rng: random.Random, seed: int) -> str:
    locale_fake = Faker(rng.choice(IBAN_LOCALES))
    locale_fake.seed_instance(seed)
    value: str = locale_fake.iban()
    if rng.random() < 0.5:
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


def negatives(t: Ticket, fake: Faker, rng: random.Random) -> None:
    """Two or three sentences of hard negatives."""
    ver = f"{rng.randint(1, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}"
    build = str(rng.randint(1000000, 99999999))
    ts = fake.date_time_between("-2y").strftime(rng.choice(["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M"]))
    key = f"{rng.choice(['PROJ', 'OPS', 'SUP', 'BILL', 'WEB'])}-{rng.randint(1, 99999)}"
    sha = _rand(rng, "0123456789abcdef", rng.choice([7, 12, 40]))
    order = rng.choice([f"ORD-{rng.randint(2019, 2025)}-{rng.randint(0, 999999):06d}", f"#{rng.randint(10**9, 10**10 - 1)}",
                        f"order {rng.randint(10**9, 10**11)}"])
    invoice = f"INV-{rng.randint(100000, 9999999)}"
    price = rng.choice([f"${rng.randint(1, 9999):,}.{rng.randint(0, 99):02d}", f"€{rng.randint(1, 999)},{rng.randint(0, 99):02d}",
                        f"{rng.randint(1, 5000)}.00 USD"])
    err = rng.choice([f"0x{_rand(rng, '0123456789ABCDEF', 8)}", f"E{rng.randint(1000, 9999)}", f"HTTP {rng.choice([500, 502, 503, 429])}",
                      f"ERR_{rng.choice(['TIMEOUT', 'CONN_RESET', 'SSL'])}_{rng.randint(10, 99)}"])
    uuid = str(fake.uuid4())
    product = rng.choice(PRODUCTS)
    choice = rng.sample(range(5), 3)
    for c in choice:
        if c == 0:
            t.add("Since upgrading ")
            t.negative(product, "product")
            t.add(" to v")
            t.negative(ver, "version")
            t.add(" (build ")
            t.negative(build, "build")
            t.add(") the export fails at ")
            t.negative(ts, "timestamp")
            t.add(". ")
        elif c == 1:
            t.add("Related to ")
            t.negative(key, "ticket_key")
            t.add(", probably commit ")
            t.negative(sha, "commit")
            t.add(". ")
        elif c == 2:
            t.add("Request id ")
            t.negative(uuid, "uuid")
            t.add(" failed with ")
            t.negative(err, "error_code")
            t.add(". ")
        elif c == 3:
            t.add("It is about ")
            t.negative(order, "order_id")
            t.add(" and invoice ")
            t.negative(invoice, "invoice")
            t.add(" (total ")
            t.negative(price, "price")
            t.add("). ")
        else:
            t.add("The log shows ")
            t.negative(ts, "timestamp")
            t.add(" ")
            t.negative(err, "error_code")
            t.add(" on worker ")
            t.negative(str(rng.randint(1, 64)), "build")
            t.add(". ")


def ticket(index: int, rng: random.Random, fake: Faker) -> dict[str, Any]:
    """One labelled ticket."""
    t = Ticket()
    first, last = fake.first_name(), fake.last_name()
    name = f"{first} {last}"
    email = f"{first.lower()}.{last.lower()}@{fake.free_email_domain()}"
    t.add(rng.choice(["Hi ", "Hello ", "Dear "]))
    if rng.random() < 0.5:
        t.add("support team,\n")
    else:
        t.value(first, "person")
        t.add(",\n")
    if rng.random() < 0.5:
        t.add(rng.choice(["My name is ", "This is "]))
        t.value(name, "person")
        t.add(rng.choice([" and I manage IT for our office. ", ". "]))
    negatives(t, fake, rng)
    secrets = fake_secrets(rng)
    kinds = rng.sample(["email", "phone", "card", "iban", "ssn", "ip", "secret", "url", "address", "dob", "colleague",
                        "secret", "phone", "card"], rng.randint(3, 6))
    for kind in kinds:
        if kind == "email":
            t.add(rng.choice(["Please reply to ", "You can reach me at ", "CC my manager at "]))
            t.value(rng.choice([email, fake.email()]), "email")
            t.add(". ")
        elif kind == "phone":
            text, _ = phone(rng)
            t.add(rng.choice(["Call me on ", "My mobile is ", "Reach the site contact at ", "Phone: "]))
            t.value(text, "phone")
            t.add(". ")
        elif kind == "card":
            t.add(rng.choice(["The charge on card ", "I paid with ", "Card number "]))
            t.value(card(fake, rng), "card")
            t.add(rng.choice([" was declined. ", " twice. ", " is on file. "]))
        elif kind == "iban":
            t.add(rng.choice(["Refund to IBAN ", "Our account: ", "Please wire it to "]))
            t.value(iban(rng, index), "iban")
            t.add(". ")
        elif kind == "ssn":
            t.add(rng.choice(["My SSN is ", "SSN: ", "Social security number "]))
            t.value(fake.ssn(), "ssn")
            t.add(". ")
        elif kind == "ip":
            t.add(rng.choice(["Our egress IP is ", "Blocked from ", "The server at "]))
            t.value(fake.ipv4_public() if rng.random() < 0.7 else fake.ipv6(), "ip")
            t.add(rng.choice([". ", " since Monday. "]))
        elif kind == "secret":
            _, prefix, secret = rng.choice(secrets)
            t.add("I pasted " + prefix if not prefix.startswith(("webhook", "password", "token", "secret", "aws_",
                                                                 "Authorization", "connection")) else "\n" + prefix)
            t.value(secret, "secret")
            t.add("\n")
        elif kind == "url":
            user, password = fake.user_name(), _rand(rng, ALNUM, 12)
            scheme, host = rng.choice([("postgres", "db.internal:5432/app"), ("https", "git.example.org/repo.git"),
                                       ("amqp", "mq.local:5672"), ("redis", "cache.local:6379/0")])
            t.add(f"The job uses {scheme}://")
            t.value(f"{user}:{password}", "url_credentials")
            t.add(f"@{host} for the connection. ")
        elif kind == "address":
            t.add(rng.choice(["Ship the replacement to ", "Address: ", "I live at "]))
            t.value(f"{fake.street_address()}, {fake.city()}, {fake.state_abbr()} {fake.zipcode()}", "address")
            t.add(". " if rng.random() < 0.5 else "\n")
        elif kind == "dob":
            t.add(rng.choice(["DOB: ", "Date of birth: ", "I was born on "]))
            t.value(fake.date_of_birth(minimum_age=18, maximum_age=90).strftime(rng.choice(["%m/%d/%Y", "%B %d, %Y", "%Y-%m-%d"])),
                    "dob")
            t.add(". ")
        elif kind == "colleague":
            t.add(rng.choice(["My colleague ", "I spoke with ", "Yesterday "]))
            t.value(f"{fake.first_name()} {fake.last_name()}", "person")
            t.add(rng.choice([" saw the same error. ", " from billing, no luck. ", " tried again and it failed. "]))
    if rng.random() < 0.4:
        t.add("Also ")
        t.value(first, "person")
        t.add(" will be out next week. ")
    t.add(rng.choice(["\nThanks,\n", "\nBest regards,\n", "\nCheers,\n"]))
    t.value(name, "person")
    t.add("\n")
    return {
        "id": f"T{index:04d}",
        "text": t.text,
        "spans": t.spans,
        "negatives": t.negatives,
        "fields": {"reporter": {"displayName": name, "emailAddress": email}},
    }


def generate(n: int = 400, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` labelled tickets, the same for the same seed."""
    rng = random.Random(seed)
    Faker.seed(seed)
    fake = Faker("en_US")
    return [ticket(i, rng, fake) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for item in generate(args.tickets, args.seed):
        sys.stdout.write(json.dumps(item) + "\n")


if __name__ == "__main__":
    main()
