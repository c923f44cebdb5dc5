"""Generate examples/traces.jsonl: 300 production-like traces of three LLM apps.

    python examples/make_traces.py            # rewrite examples/traces.jsonl
    python examples/make_traces.py --check    # exit 1 if the committed file is stale

Standard library only, seeded, so the output is byte-for-byte reproducible.

The traces come from three apps of a fictional outdoor-gear shop,
Northpeak Outfitters: its customer-support assistant, its internal
developer-docs Q&A bot (retrieval-augmented) and a coding helper.  Each
trace is one question a user really might ask, phrased from hand-written
question/answer pairs, with an answer whose quality varies the way it does
in production: close to the reference, partly right, about something else,
a refusal, empty, and one trace whose output is null (the app crashed
before answering).  About 60% carry an expected answer, either as a
top-level ``expected`` or, as a Langfuse export keeps it, in
``metadata.expected_output``.  Some lines are shaped like a Langfuse trace
export (``name``, ``tags``, ``userId``, ``sessionId``, ``release``,
``version``, ``environment`` ...); the rest use the plain shape ``id``,
``input``, ``output``, ``expected``, ``metadata``, ``timestamp``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

SEED = 20250303
N_TRACES = 300
OUT = Path(__file__).resolve().parent / "traces.jsonl"


@dataclass(frozen=True)
class QA:
    """A question as users ask it, the reference answer, and answers of other qualities."""

    app: str
    lang: str
    questions: tuple[str, ...]
    expected: str
    good: str
    partial: str


@dataclass(frozen=True)
class App:
    name: str  # Langfuse trace name
    system: str
    prompt_version: str
    model: str
    tags: tuple[str, ...]


APPS: dict[str, App] = {
    "support": App(
        name="support-chat",
        system=(
            "You are Northpeak Outfitters' customer support assistant. Answer questions about orders, "
            "shipping, returns, warranty and products, in the customer's language. Be concise and friendly. "
            "If you are not sure, offer to hand the conversation to a human agent."
        ),
        prompt_version="support-v14",
        model="gpt-4o-mini-2024-07-18",
        tags=("support", "web-widget"),
    ),
    "docs": App(
        name="docs-qa",
        system=(
            "You answer engineers' questions using only the documentation excerpts provided. "
            "Quote commands exactly. If the excerpts do not contain the answer, say so."
        ),
        prompt_version="docs-rag-v6",
        model="gpt-4o-2024-08-06",
        tags=("docs", "rag"),
    ),
    "coding": App(
        name="code-helper",
        system="You are a coding assistant. Give a short explanation followed by a minimal example.",
        prompt_version="code-v3",
        model="claude-3-5-sonnet-20241022",
        tags=("coding", "ide-plugin"),
    ),
}

SUPPORT = [
    QA("support", "en",
       ("What's your return policy?", "Can I return a jacket I bought three weeks ago?",
        "how long do I have to send something back"),
       "You can return unused items within 30 days of delivery for a full refund. Start the return from "
       "Orders > Return an item and we'll email you a prepaid label. The refund reaches your original payment "
       "method 5-7 business days after we receive the parcel.",
       "Yes! Unused items can go back within 30 days of delivery for a full refund. Open Orders, pick "
       "'Return an item' and a prepaid shipping label lands in your inbox. Once the parcel reaches us, allow "
       "5-7 business days for the refund to show on the card you paid with.",
       "You can return items within 30 days. Just send them back to us."),
    QA("support", "en",
       ("Where is my order {order}? It said it shipped on Monday.", "My package {order} hasn't arrived yet, can you check?"),
       "When an order ships you get an email with a tracking link, and you can also open Orders in your account "
       "and click Track package. Standard shipping takes 3-5 business days after dispatch. If tracking hasn't "
       "updated for 48 hours, reply here and we'll open a trace with the carrier.",
       "You can follow it with the tracking link in your shipping confirmation email, or under Orders > Track "
       "package. Standard delivery takes 3-5 business days from dispatch, so it should arrive soon. If the "
       "tracking hasn't moved in 48 hours, let me know and we'll ask the carrier to investigate.",
       "Your order has shipped and should arrive in a few days."),
    QA("support", "en",
       ("I put the wrong address on my order, can I change it?", "How do I update the delivery address on an order?"),
       "You can change the address as long as the order hasn't been packed yet: go to Orders, select the order and "
       "choose Edit shipping address. If that button is greyed out the order is already being packed, so contact us "
       "and we'll ask the carrier to redirect the parcel.",
       "If the order hasn't been packed, open it under Orders and use Edit shipping address. A greyed-out button "
       "means packing has started; in that case message us and we'll have the carrier redirect it.",
       "Addresses can be changed from your account settings."),
    QA("support", "en",
       ("Do the Ridgeline hiking boots run small? I'm usually a 42.", "what size ridgeline boots should I get, I wear 42 in sneakers"),
       "The Ridgeline boots run about half a size small, so most customers who wear a 42 order a 42.5. If you're "
       "between sizes or wear thick hiking socks, go up half a size. Size exchanges are free within 30 days.",
       "They run roughly half a size small. Most people who are a 42 are happiest in a 42.5, and if you like thick "
       "socks, sizing up half a size is a good idea. If they don't fit, exchanging for another size is free for 30 days.",
       "The Ridgeline boots fit true to size for most people."),
    QA("support", "en",
       ("I returned my tent two weeks ago and still haven't got my refund.", "where is my refund?? sent the tent back 2 weeks ago"),
       "Refunds are issued within 2 business days of the return reaching our warehouse and then take 5-7 business "
       "days to appear, depending on your bank. If your return tracking shows it was delivered more than 10 days ago, "
       "I can escalate it to our returns team; please share your order number.",
       "Sorry for the wait. We issue the refund within 2 business days of the tent reaching our warehouse, and banks "
       "then take 5-7 business days to show it. If the return tracking says it was delivered over 10 days ago, send "
       "me your order number and I'll escalate it to the returns team.",
       "Refunds usually take 5-7 business days."),
    QA("support", "en",
       ("How do I cancel an order I placed an hour ago?", "Can I still cancel my order?"),
       "Orders can be cancelled within 2 hours of purchase from Orders > Cancel order. After that the order is already "
       "in the warehouse queue, so the quickest option is to let it arrive and return it for free.",
       "Within 2 hours of ordering you can cancel it yourself under Orders > Cancel order. Past that point it's in the "
       "warehouse queue, and the fastest route is to accept the delivery and send it back with a free return.",
       "You can cancel from your account."),
    QA("support", "en",
       ("Do you ship to Canada? How much is it?", "What does shipping to Canada cost?"),
       "Yes, we ship to Canada. International standard shipping is a flat $14.95 and takes 7-12 business days; orders "
       "over $150 ship free. Duties and taxes are calculated at checkout, so there are no surprise fees on delivery.",
       "We do! Shipping to Canada is a flat $14.95 (free on orders over $150) and takes 7-12 business days. Duties and "
       "taxes are included at checkout, so nothing extra is due when the parcel arrives.",
       "Yes, we ship to Canada."),
    QA("support", "en",
       ("The zipper on my backpack broke after four months. Is that covered?", "Is a broken zip covered by the warranty?"),
       "Yes. All Northpeak packs have a 2-year warranty against manufacturing defects, including zippers. Send us a "
       "photo of the broken zipper and your order number and we'll arrange a free repair or a replacement.",
       "It is: our packs carry a 2-year warranty against manufacturing defects, and zippers are included. Just send a "
       "photo of the zipper plus your order number and we'll repair or replace the pack for free.",
       "Backpacks have a warranty, so it might be covered."),
    QA("support", "en",
       ("My discount code SPRING20 isn't working at checkout.", "why doesn't SPRING20 work on the sale jacket"),
       "SPRING20 gives 20% off full-price items only and is valid until 30 April. It can't be combined with sale items "
       "or other codes. If you see an error on full-price items before that date, send me a screenshot and I'll apply "
       "the discount manually.",
       "SPRING20 only works on full-price items (not sale ones) and can't be stacked with another code; it runs until "
       "30 April. If it fails on a full-price item, send me a screenshot and I'll add the 20% off by hand.",
       "Discount codes can't be used on some items."),
    QA("support", "en",
       ("How do I check my gift card balance?", "how much is left on my gift card"),
       "Enter the 16-digit gift card number on the Gift Cards page and click Check balance. You can also apply it at "
       "checkout, where the remaining balance is shown after the payment step.",
       "Go to the Gift Cards page, type in the 16-digit card number and press Check balance. The balance also appears "
       "at checkout once you add the card in the payment step.",
       "You can see the balance on the Gift Cards page."),
    QA("support", "en",
       ("I can't log in, the password reset email never arrives.", "password reset email not coming"),
       "Password reset emails come from no-reply@northpeak.example and can take up to 10 minutes. Check your spam or "
       "promotions folder and make sure you used the email address on your account. If nothing arrives after 15 "
       "minutes, I can send a reset link manually once you confirm your account email.",
       "The reset email is sent from no-reply@northpeak.example and may take up to 10 minutes, so please look in spam "
       "or promotions too, and double-check it's the address on your account. Still nothing after 15 minutes? Tell me "
       "your account email and I'll send a reset link myself.",
       "Please check your spam folder."),
    QA("support", "en",
       ("My sleeping bag arrived with a tear in it.", "the sleeping bag I got is ripped"),
       "Sorry about that! Please send a photo of the damage and your order number. We'll ship a replacement right away "
       "at no cost, and you don't need to return the damaged item.",
       "I'm sorry it arrived damaged. Send me a photo of the tear and your order number, and we'll send a replacement "
       "straight away, free of charge. There's no need to send the torn one back.",
       "Please send us a photo of the damage."),
    QA("support", "en",
       ("I found the same stove cheaper on another site, do you price match?",),
       "We match the price of identical in-stock items from authorized retailers within 14 days of your purchase. Send "
       "a link to the other offer and your order number, and we'll refund the difference.",
       "Yes, for identical in-stock items from an authorized retailer, within 14 days of buying. Share the link to the "
       "cheaper offer and your order number and we'll refund you the difference.",
       "We sometimes match prices from other stores."),
    QA("support", "en",
       ("Can I talk to a real person?", "i want a human agent"),
       "Of course. Our support team is available Monday to Friday, 8am-8pm ET, by live chat or at 1-800-555-0142. I can "
       "also create a ticket now so an agent emails you back within one business day.",
       "Sure. Agents are on live chat and at 1-800-555-0142 Monday to Friday, 8am-8pm ET. If you prefer, I'll open a "
       "ticket and someone will email you within one business day.",
       "You can call our support line."),
    QA("support", "en",
       ("my order came with the wrong color \U0001f629 ordered green got orange",),
       "Sorry about the mix-up! \U0001f648 We'll send the green one right away at no cost; just reply with your order "
       "number. A prepaid return label for the orange one will be in your inbox within the hour \U0001f4e6",
       "Oh no, sorry about that \U0001f615 Reply with your order number and we'll ship the green one today for free. "
       "You'll also get a prepaid label to send the orange one back \U0001f4e6",
       "Sorry! Please contact us about it."),
]

SUPPORT_INTL = [
    QA("support", "fr",
       ("Bonjour, je n'ai toujours pas reçu ma commande passée il y a dix jours. Que faire ?",),
       "Bonjour ! Les commandes internationales arrivent en 7 à 12 jours ouvrés. Le lien de suivi se trouve dans "
       "l'e-mail d'expédition et dans « Mes commandes ». Si le suivi n'a pas bougé depuis 48 heures, envoyez-nous "
       "votre numéro de commande et nous ouvrirons une enquête auprès du transporteur.",
       "Bonjour ! Comptez 7 à 12 jours ouvrés pour une livraison internationale. Vous pouvez suivre le colis via "
       "l'e-mail d'expédition ou « Mes commandes ». Sans mise à jour du suivi depuis 48 heures, donnez-nous votre "
       "numéro de commande : nous contacterons le transporteur.",
       "Votre commande est en cours de livraison."),
    QA("support", "es",
       ("¿Puedo devolver unas botas que ya usé una vez?",),
       "Solo aceptamos devoluciones de artículos sin usar en un plazo de 30 días. Si las botas tienen un defecto, están "
       "cubiertas por la garantía de 2 años: envíanos una foto y el número de pedido y te ofrecemos una reparación o un "
       "cambio.",
       "Las devoluciones son solo para artículos sin usar, dentro de 30 días. Pero si las botas tienen algún defecto, "
       "la garantía de 2 años las cubre: mándanos una foto y el número de pedido y las reparamos o cambiamos.",
       "No, las botas usadas no se pueden devolver."),
    QA("support", "de",
       ("Wie ändere ich die Lieferadresse meiner Bestellung?",),
       "Solange die Bestellung noch nicht verpackt ist, können Sie die Adresse unter „Bestellungen“ › „Lieferadresse "
       "bearbeiten“ ändern. Ist die Schaltfläche ausgegraut, schreiben Sie uns bitte – wir bitten dann den "
       "Versanddienst, das Paket umzuleiten.",
       "Unter „Bestellungen“ finden Sie „Lieferadresse bearbeiten“, solange noch nicht verpackt wurde. Ist der Knopf "
       "grau, melden Sie sich bei uns, dann lassen wir das Paket vom Versanddienst umleiten.",
       "Die Adresse können Sie in Ihrem Konto ändern."),
    QA("support", "ja",
       ("注文をキャンセルするにはどうすればいいですか？",),
       "ご注文から2時間以内であれば、「注文履歴」から「注文をキャンセル」を選んでキャンセルできます。2時間を過ぎた場合は、"
       "商品到着後に無料で返品いただけます。",
       "ご注文後2時間以内なら「注文履歴」→「注文をキャンセル」でキャンセル可能です。それ以降は、お届け後に無料返品をご利用ください。",
       "アカウントページからキャンセルできます。"),
    QA("support", "ko",
       ("비밀번호 재설정 이메일이 오지 않아요.",),
       "재설정 이메일은 도착하는 데 최대 10분이 걸릴 수 있습니다. 스팸함이나 프로모션함을 확인해 주시고, 계정에 등록된 이메일 "
       "주소를 사용했는지 확인해 주세요. 15분이 지나도 오지 않으면 계정 이메일을 알려 주시면 직접 링크를 보내 드리겠습니다.",
       "이메일이 오기까지 최대 10분 정도 걸립니다. 스팸함도 확인해 주시고 계정 이메일 주소가 맞는지 확인해 주세요. 15분 후에도 "
       "없으면 계정 이메일을 알려 주세요. 재설정 링크를 직접 보내 드릴게요.",
       "스팸함을 확인해 주세요."),
    QA("support", "pt",
       ("Vocês entregam no Brasil? Quanto custa o frete?",),
       "Sim, enviamos para o Brasil. O frete internacional padrão custa US$ 14,95 e leva de 7 a 12 dias úteis; pedidos "
       "acima de US$ 150 têm frete grátis. Impostos e taxas são calculados no checkout.",
       "Entregamos, sim! O frete para o Brasil é de US$ 14,95 (grátis acima de US$ 150) e o prazo é de 7 a 12 dias "
       "úteis. Os impostos já aparecem no checkout, sem surpresas na entrega.",
       "Sim, entregamos no Brasil."),
    QA("support", "zh",
       ("我的优惠码不能用，怎么办？",),
       "优惠码 SPRING20 仅适用于原价商品，有效期至 4 月 30 日，且不能与其他优惠叠加。如果在有效期内原价商品仍无法使用，"
       "请发送截图给我们，我们会为您手动折扣。",
       "SPRING20 只能用于原价商品，4 月 30 日前有效，不能和其他优惠码同时使用。如果原价商品也用不了，请把截图发给我们，"
       "我们帮您手动打折。",
       "优惠码可能已经过期了。"),
]

DOCS = [
    QA("docs", "en",
       ("How do I create a virtual environment in Python?", "what's the command to make a venv"),
       "Run `python -m venv .venv` in your project folder, then activate it with `source .venv/bin/activate` on macOS "
       "and Linux or `.venv\\Scripts\\activate` on Windows. Packages you install with pip afterwards go into that "
       "environment only.",
       "Use the built-in venv module: `python -m venv .venv`. Activate it with `source .venv/bin/activate` (macOS/Linux) "
       "or `.venv\\Scripts\\activate` (Windows); from then on pip installs into that environment only.",
       "Run `python -m venv .venv`."),
    QA("docs", "en",
       ("How do I undo my last commit but keep the changes?", "git undo last commit keep changes"),
       "Use `git reset --soft HEAD~1`. It moves the branch back one commit and leaves your changes staged, so you can "
       "edit them and commit again. Use `git reset HEAD~1` instead if you want the changes unstaged.",
       "`git reset --soft HEAD~1` moves your branch back by one commit while keeping the changes staged, ready to "
       "commit again. If you'd rather have them unstaged, run `git reset HEAD~1`.",
       "Use `git reset` to undo the commit."),
    QA("docs", "en",
       ("What's the difference between CMD and ENTRYPOINT in a Dockerfile?",),
       "ENTRYPOINT sets the executable that always runs when the container starts; CMD provides default arguments (or "
       "a default command if there is no ENTRYPOINT). Arguments passed to `docker run` replace CMD but are appended to "
       "ENTRYPOINT.",
       "ENTRYPOINT is the program the container always runs, while CMD supplies its default arguments, or the whole "
       "default command when no ENTRYPOINT is set. Extra arguments to `docker run` override CMD and are appended to "
       "ENTRYPOINT.",
       "CMD and ENTRYPOINT both set what the container runs."),
    QA("docs", "en",
       ("How do I see which queries are slow in PostgreSQL?", "find slow queries postgres"),
       "Enable the pg_stat_statements extension (add it to shared_preload_libraries and run CREATE EXTENSION "
       "pg_stat_statements), then query the pg_stat_statements view ordered by total_exec_time or mean_exec_time. You "
       "can also set log_min_duration_statement to log every query slower than a threshold.",
       "Turn on pg_stat_statements: add it to shared_preload_libraries, restart, and run CREATE EXTENSION "
       "pg_stat_statements. Then select from the pg_stat_statements view sorted by mean_exec_time or total_exec_time. "
       "Setting log_min_duration_statement also logs any query slower than the threshold you choose.",
       "Set log_min_duration_statement in postgresql.conf."),
    QA("docs", "en",
       ("What does HTTP 429 mean and how should my client handle it?",),
       "429 Too Many Requests means you hit a rate limit. Wait before retrying: honour the Retry-After header if it is "
       "present, otherwise back off exponentially with jitter, and cap the number of retries.",
       "It's Too Many Requests: the server is rate limiting you. Retry later, waiting as long as the Retry-After header "
       "says, or with exponential backoff plus jitter when there is no header, and give up after a few attempts.",
       "429 means too many requests."),
    QA("docs", "en",
       ("My pod is in CrashLoopBackOff, how do I find out why?",),
       "Run `kubectl describe pod <name>` to see events and the last exit code, then `kubectl logs <name> --previous` to "
       "read the output of the crashed container. Common causes are a failing start command, a missing config or "
       "secret, and a liveness probe that fails too early.",
       "Start with `kubectl describe pod <name>` for the events and last exit code, and read the crashed container's "
       "output with `kubectl logs <name> --previous`. Usual suspects: the start command fails, a ConfigMap or Secret is "
       "missing, or the liveness probe fires before the app is ready.",
       "Check the pod logs with kubectl logs."),
    QA("docs", "en",
       ("How do I set environment variables in GitHub Actions?",),
       "Define them under `env:` at the workflow, job or step level. Store secrets in the repository settings under "
       "Secrets and reference them as `${{ secrets.NAME }}`. To set a variable for later steps at run time, append "
       "`NAME=value` to the file in `$GITHUB_ENV`.",
       "Put them in an `env:` block on the workflow, a job or a step. Secrets go in the repository's Secrets settings "
       "and are read with `${{ secrets.NAME }}`. A step can pass a value to later steps by appending `NAME=value` to "
       "`$GITHUB_ENV`.",
       "Use the `env:` key in your workflow file."),
    QA("docs", "en",
       ("Why am I getting a CORS error when my frontend calls my API?",),
       "The browser blocks the response because the API did not send an Access-Control-Allow-Origin header matching "
       "your frontend's origin. Configure the server to return that header and to answer OPTIONS preflight requests "
       "with the allowed methods and headers; the fix is on the server, not in the frontend code.",
       "Your API isn't returning an Access-Control-Allow-Origin header for the frontend's origin, so the browser drops "
       "the response. Fix it server-side: send that header and handle OPTIONS preflight requests with the allowed "
       "methods and headers.",
       "CORS errors happen when the frontend and the API are on different domains."),
    QA("docs", "en",
       ("How do I generate an SSH key for GitHub?",),
       "Run `ssh-keygen -t ed25519 -C \"you@example.com\"`, accept the default path and set a passphrase. Then copy the "
       "contents of `~/.ssh/id_ed25519.pub` into GitHub under Settings > SSH and GPG keys > New SSH key, and test it "
       "with `ssh -T git@github.com`.",
       "Generate one with `ssh-keygen -t ed25519 -C \"you@example.com\"` (default path, add a passphrase), paste "
       "`~/.ssh/id_ed25519.pub` into Settings > SSH and GPG keys > New SSH key on GitHub, then check it with "
       "`ssh -T git@github.com`.",
       "Use ssh-keygen to create a key."),
    QA("docs", "en",
       ("How can I check when a website's TLS certificate expires?",),
       "Run `openssl s_client -connect example.com:443 -servername example.com < /dev/null | openssl x509 -noout "
       "-enddate`. It prints the notAfter date of the certificate the server presents.",
       "Pipe the server's certificate into openssl: `openssl s_client -connect example.com:443 -servername example.com "
       "< /dev/null | openssl x509 -noout -enddate`, and read the notAfter line.",
       "You can see the expiry date in your browser's padlock menu."),
    QA("docs", "en",
       ("In semver, when do I bump the major version?",),
       "Bump MAJOR when you make a backwards-incompatible change to the public API, MINOR when you add functionality "
       "in a backwards-compatible way, and PATCH for backwards-compatible bug fixes. Before 1.0.0 anything may change "
       "at any time.",
       "Increase the major version for any change that breaks the public API. Compatible new features bump the minor "
       "version and compatible bug fixes the patch version; below 1.0.0 there are no guarantees.",
       "Major versions are for big releases."),
    QA("docs", "en",
       ("What does `pip install -e .` do?",),
       "It installs the project in the current folder in editable (development) mode: Python imports the package from "
       "your source tree, so code changes take effect without reinstalling. The folder needs a pyproject.toml or "
       "setup.py.",
       "It does an editable install of the project in the current directory, so imports point at your source tree and "
       "edits apply without reinstalling. It requires a pyproject.toml or setup.py there.",
       "It installs the current project."),
    QA("docs", "en",
       ("What cron expression runs a job every weekday at 9am?",),
       "`0 9 * * 1-5`: minute 0, hour 9, any day of the month, any month, Monday to Friday. Cron uses the server's time "
       "zone unless your scheduler lets you set one.",
       "Use `0 9 * * 1-5` (minute 0 of hour 9, every month and day, weekdays 1-5 meaning Monday to Friday). Remember it "
       "runs in the server's time zone.",
       "`0 9 * * *`"),
    QA("docs", "en",
       ("What's the difference between JSON and JSON Lines?",),
       "A JSON file holds one JSON value, usually a single array or object. JSON Lines (.jsonl) holds one complete JSON "
       "value per line, so it can be streamed, appended to and processed line by line without loading the whole file.",
       "JSON is one value per file, typically a big array or object. JSON Lines puts one full JSON value on each line, "
       "which lets you stream, append and process records one line at a time.",
       "JSON Lines is JSON with one object per line."),
    QA("docs", "fr",
       ("Comment annuler mon dernier commit sans perdre mes modifications ?",),
       "Utilisez `git reset --soft HEAD~1` : la branche recule d'un commit et vos modifications restent indexées, "
       "prêtes à être recommitées. Avec `git reset HEAD~1`, elles sont conservées mais désindexées.",
       "`git reset --soft HEAD~1` annule le dernier commit tout en gardant vos modifications dans l'index. Préférez "
       "`git reset HEAD~1` si vous les voulez hors de l'index.",
       "Utilisez `git reset`."),
    QA("docs", "zh",
       ("如何在 Python 中读取 JSON 文件？",),
       "使用标准库 json 模块：`with open(\"data.json\", encoding=\"utf-8\") as f: data = json.load(f)`。json.load "
       "会把文件内容解析为 Python 的字典或列表。",
       "用内置的 json 模块即可：先 `open(\"data.json\", encoding=\"utf-8\")`，再调用 `json.load(f)`，得到字典或列表。",
       "用 json 模块。"),
]

CODING = [
    QA("coding", "en",
       ("How do I reverse a list in Python?", "python reverse list"),
       "Use `my_list.reverse()` to reverse it in place, or `my_list[::-1]` (or `list(reversed(my_list))`) to get a new "
       "reversed list and keep the original unchanged.",
       "`my_list.reverse()` reverses the list in place. If you need to keep the original, make a reversed copy with "
       "`my_list[::-1]` or `list(reversed(my_list))`.",
       "Use `reversed(my_list)`."),
    QA("coding", "en",
       ("Why does my Python function remember values between calls when I use a list as a default argument?",),
       "Default values are evaluated once, when the function is defined, so every call shares the same list object. "
       "Use `None` as the default and create the list inside the function: `def add(item, items=None): items = [] if "
       "items is None else items`.",
       "Because the default list is created once at definition time and reused by every call. Default to `None` and "
       "build a fresh list inside: `if items is None: items = []`.",
       "Default arguments are shared between calls."),
    QA("coding", "en",
       ("How do I read a file line by line in Python without loading it all into memory?",),
       "Open it with a `with` statement and iterate over the file object: `with open(path, encoding=\"utf-8\") as f: for "
       "line in f: ...`. Lines are read lazily, one at a time, and the file is closed automatically.",
       "Iterate over the file object inside a `with` block: `with open(path, encoding=\"utf-8\") as f:` then `for line "
       "in f:`. Python reads one line at a time and closes the file for you.",
       "Use `f.readlines()`."),
    QA("coding", "en",
       ("What's the difference between == and === in JavaScript?",),
       "`===` compares value and type without conversion; `==` converts the operands to a common type first, so "
       "`0 == \"0\"` is true but `0 === \"0\"` is false. Prefer `===` to avoid surprising coercions.",
       "`==` coerces both sides to a common type before comparing, `===` doesn't: `0 == \"0\"` is true while "
       "`0 === \"0\"` is false. Use `===` by default.",
       "`===` is the strict version of `==`."),
    QA("coding", "en",
       ("How do I find duplicate emails in a users table?", "sql query duplicates email column"),
       "Group by the column and keep groups with more than one row: `SELECT email, COUNT(*) FROM users GROUP BY email "
       "HAVING COUNT(*) > 1;`",
       "Use GROUP BY with HAVING: `SELECT email, COUNT(*) AS n FROM users GROUP BY email HAVING COUNT(*) > 1;` lists "
       "every email that appears more than once.",
       "Use `SELECT DISTINCT email FROM users`."),
    QA("coding", "en",
       ("How do I run several HTTP requests concurrently with asyncio?",),
       "Create one coroutine per request and run them together with `asyncio.gather`, sharing one client: `async with "
       "httpx.AsyncClient() as client: responses = await asyncio.gather(*(client.get(u) for u in urls))`. Use an "
       "`asyncio.Semaphore` to cap how many run at once.",
       "Share one `httpx.AsyncClient` and gather the requests: `responses = await asyncio.gather(*(client.get(u) for u "
       "in urls))`. Wrap each call in an `asyncio.Semaphore` if you need to limit concurrency.",
       "Use asyncio.gather."),
    QA("coding", "en",
       ("What regex matches a US ZIP code, with or without the +4 part?",),
       "`^\\d{5}(-\\d{4})?$` matches five digits optionally followed by a hyphen and four digits; the anchors stop it "
       "from matching inside longer strings.",
       "Try `^\\d{5}(?:-\\d{4})?$`: five digits, then an optional hyphen plus four digits, anchored at both ends.",
       "`\\d{5}`"),
    QA("coding", "en",
       ("How do I resolve a merge conflict in git?",),
       "Open the conflicted files, keep the right content between the `<<<<<<<`, `=======` and `>>>>>>>` markers and "
       "delete the markers. Then `git add` each resolved file and run `git commit` (or `git merge --continue`) to finish "
       "the merge.",
       "Edit each conflicted file, choose what to keep between the `<<<<<<<`/`=======`/`>>>>>>>` markers and remove "
       "them, `git add` the files, then `git merge --continue` or `git commit`.",
       "Edit the files with conflicts and commit."),
    QA("coding", "en",
       ("How do I make a property optional in a TypeScript interface?",),
       "Add a question mark after the property name: `interface User { name: string; email?: string }`. Its type then "
       "becomes `string | undefined`, so check it before use.",
       "Mark it with `?`: `interface User { name: string; email?: string }`. TypeScript treats it as `string | "
       "undefined`, so narrow it before using it.",
       "Use `?`."),
    QA("coding", "en",
       ("How do I sort a Python dict by its values?",),
       "Use `sorted` on the items with a key: `dict(sorted(d.items(), key=lambda kv: kv[1]))`. Add `reverse=True` for "
       "descending order; dicts keep insertion order, so the result stays sorted.",
       "`dict(sorted(d.items(), key=lambda kv: kv[1]))` sorts by value (pass `reverse=True` for descending). Since dicts "
       "preserve insertion order, the new dict stays in that order.",
       "Dicts can't be sorted."),
    QA("coding", "en",
       ("Why do I get TypeError: 'NoneType' object is not subscriptable?",),
       "You indexed a variable that is None, often because a function returned None (for example `list.sort()`, which "
       "sorts in place and returns None) or a lookup found nothing. Check the value before indexing and fix the call "
       "that produced None.",
       "Something you're indexing with `[...]` is None, usually the return value of a function that returns nothing, "
       "like `list.sort()`, or a lookup that found no match. Trace where that None comes from and fix that call.",
       "The variable is None."),
    QA("coding", "en",
       ("How do I convert a string to an integer in Go?",),
       "Use `strconv.Atoi`: `n, err := strconv.Atoi(s)`. Always check `err`, which is non-nil when the string is not a "
       "valid integer; use `strconv.ParseInt` for other bases or bit sizes.",
       "Call `strconv.Atoi(s)`, which returns the int and an error, and handle the error for invalid input. For a "
       "specific base or bit size use `strconv.ParseInt`.",
       "Use `int(s)`."),
    QA("coding", "ja",
       ("Pythonでリストを逆順にする方法は？",),
       "`my_list.reverse()` でその場で逆順にできます。元のリストを残したい場合は `my_list[::-1]` で新しいリストを作ります。",
       "リスト自体を逆順にするなら `my_list.reverse()`、元のリストを変えずに逆順のコピーが欲しいなら `my_list[::-1]` を使います。",
       "`reversed()` を使います。"),
    QA("coding", "es",
       ("¿Cómo elimino los duplicados de una lista en Python manteniendo el orden?",),
       "Usa `list(dict.fromkeys(mi_lista))`: los diccionarios conservan el orden de inserción y descartan las claves "
       "repetidas. `set(mi_lista)` también elimina duplicados, pero pierde el orden.",
       "Con `list(dict.fromkeys(mi_lista))` quitas los duplicados y conservas el orden original; `set()` no garantiza "
       "el orden.",
       "Usa `set(mi_lista)`."),
]

ALL_QA = SUPPORT + SUPPORT_INTL + DOCS + CODING
#: Most traffic is English; other languages are a steady minority (about 10%).
QA_WEIGHTS = [1.0 if qa.lang == "en" else 0.5 for qa in ALL_QA]

#: Retrieval results the docs bot logged with each answer (metadata only).
DOC_PAGES = {
    "venv": "python/venv.md", "git reset": "git/undo-changes.md", "ENTRYPOINT": "docker/dockerfile.md",
    "pg_stat": "postgres/performance.md", "429": "http/rate-limits.md", "CrashLoop": "k8s/troubleshooting.md",
    "GitHub Actions": "ci/github-actions.md", "CORS": "http/cors.md", "SSH": "git/ssh-keys.md",
    "TLS": "security/tls.md", "semver": "release/versioning.md", "pip install": "python/packaging.md",
    "cron": "ops/cron.md", "JSON Lines": "data/formats.md", "commit": "git/undo-changes.md", "JSON": "python/json.md",
}

REFUSALS = {
    "en": (
        "I'm sorry, but I can't help with that request.",
        "I'm not able to answer that. Is there anything else I can help you with?",
        "Sorry, I don't have enough information to answer this question.",
        "I can only help with questions about Northpeak orders and products.",
    ),
    "fr": ("Désolé, je ne peux pas répondre à cette question.",),
    "es": ("Lo siento, no puedo ayudarte con esa solicitud.",),
    "de": ("Entschuldigung, dabei kann ich Ihnen leider nicht helfen.",),
    "ja": ("申し訳ございませんが、そのご質問にはお答えできません。",),
    "ko": ("죄송하지만 해당 요청은 도와드릴 수 없습니다.",),
    "pt": ("Desculpe, não consigo ajudar com essa solicitação.",),
    "zh": ("抱歉，我无法回答这个问题。",),
}

OPENERS = {
    "support": ("", "", "Happy to help! ", "Thanks for reaching out. ", "Good question! "),
    "docs": ("", "", "According to the docs: ", "From the documentation: "),
    "coding": ("", "", "Sure. ", "Short answer: "),
}
CLOSERS = {
    "support": ("", "", " Is there anything else I can help with?", " Have a great day!", " \U0001f60a"),
    "docs": ("", "", " (Source: internal docs.)"),
    "coding": ("", "", " Hope that helps!"),
}

#: Quality of the output, and how often it occurs.
QUALITY_WEIGHTS = (("good", 44), ("paraphrase", 14), ("partial", 18), ("off_topic", 12), ("refusal", 8), ("empty", 4))

BASE_TIME = datetime(2025, 3, 3, 7, 0, 0, tzinfo=timezone.utc)
ZONES = {
    "support": (timezone.utc, timezone(timedelta(hours=-5)), timezone(timedelta(hours=1))),
    "docs": (timezone.utc, timezone(timedelta(hours=2))),
    "coding": (timezone.utc, timezone(timedelta(hours=9)), timezone(timedelta(hours=-8))),
}
LOCALES = {"en": "en-US", "fr": "fr-FR", "es": "es-ES", "de": "de-DE", "ja": "ja-JP", "ko": "ko-KR",
           "pt": "pt-BR", "zh": "zh-CN"}


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    names, weights = zip(*weighted)
    return rng.choices(names, weights=weights, k=1)[0]


def _question(rng: random.Random, qa: QA) -> str:
    text = rng.choice(qa.questions)
    return text.replace("{order}", f"#NP-{rng.randint(40000, 59999)}")


def _answer(rng: random.Random, qa: QA, quality: str) -> str:
    """The assistant's answer text for the chosen quality."""
    if quality == "good":
        if qa.lang != "en":
            return qa.expected
        return rng.choice(OPENERS[qa.app]) + qa.expected + rng.choice(CLOSERS[qa.app])
    if quality == "paraphrase":
        return qa.good
    if quality == "partial":
        return qa.partial
    if quality == "off_topic":
        # A fluent answer to another question from the same app: the classic
        # wrong-retrieval / stale-context failure.
        others = [o for o in ALL_QA if o.app == qa.app and o is not qa and o.lang == qa.lang] or \
                 [o for o in ALL_QA if o.app == qa.app and o is not qa]
        return rng.choice(others).good
    if quality == "refusal":
        return rng.choice(REFUSALS.get(qa.lang, REFUSALS["en"]))
    return ""


def _history(rng: random.Random, qa: QA) -> list[dict[str, str]]:
    """Earlier turns of the same conversation: other questions to the same app, answered well."""
    pool = [o for o in ALL_QA if o.app == qa.app and o.lang == qa.lang and o is not qa]
    turns: list[dict[str, str]] = []
    for other in rng.sample(pool, k=min(len(pool), rng.choice((1, 1, 2)))):
        turns.append({"role": "user", "content": _question(rng, other)})
        turns.append({"role": "assistant", "content": other.good})
    return turns


def _input(rng: random.Random, qa: QA, question: str) -> Any:
    """Plain string (about half), or chat messages with the app's system prompt, sometimes multi-turn."""
    if rng.random() < 0.5:
        return question
    messages = [{"role": "system", "content": APPS[qa.app].system}]
    if rng.random() < 0.4:
        messages += _history(rng, qa)
    messages.append({"role": "user", "content": question})
    return messages


def _output(rng: random.Random, answer: Optional[str]) -> Any:
    """Mostly the answer string; some apps log the assistant message (or a one-message list)."""
    if answer is None:
        return None
    roll = rng.random()
    if roll < 0.12:
        return {"role": "assistant", "content": answer}
    if roll < 0.20:
        return [{"role": "assistant", "content": answer}]
    return answer


def _metadata(rng: random.Random, qa: QA, quality: str, answer: Optional[str]) -> dict[str, Any]:
    app = APPS[qa.app]
    words = len((answer or "").split()) or (len(answer or "") // 2)
    meta: dict[str, Any] = {
        "app": app.name,
        "model": app.model,
        "prompt_version": app.prompt_version,
        "locale": LOCALES[qa.lang],
        "latency_ms": rng.randint(380, 2400) + 18 * words,
        "usage": {"input_tokens": rng.randint(120, 900), "output_tokens": max(1, int(words * 1.4))},
    }
    if qa.app == "support":
        meta["channel"] = rng.choice(("web", "web", "mobile", "email"))
    if qa.app == "docs":
        hits = [page for key, page in DOC_PAGES.items() if key.lower() in " ".join(qa.questions + (qa.expected,)).lower()]
        meta["retrieved"] = [{"page": p, "score": round(rng.uniform(0.55, 0.93), 3)} for p in dict.fromkeys(hits)][:3]
    if qa.app == "coding":
        meta["editor"] = rng.choice(("vscode", "vscode", "jetbrains", "neovim"))
    if answer is None:
        meta["error"] = "upstream model timeout after 30s"
    elif quality == "empty":
        meta["finish_reason"] = "content_filter" if rng.random() < 0.5 else "stop"
    return meta


def _timestamp(rng: random.Random, qa: QA, minute: float, langfuse: bool) -> str:
    moment = BASE_TIME + timedelta(minutes=minute, seconds=rng.randint(0, 59), milliseconds=rng.randint(0, 999))
    if langfuse:
        # Langfuse exports UTC with milliseconds and a Z suffix.
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.astimezone(rng.choice(ZONES[qa.app])).isoformat(timespec="seconds")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_traces(n: int = N_TRACES, seed: int = SEED) -> list[dict[str, Any]]:
    """Build ``n`` traces, deterministic for a given ``seed``."""
    rng = random.Random(seed)
    null_at = rng.randrange(n // 3, 2 * n // 3)  # exactly one trace whose app crashed before answering
    minute = 0.0
    traces = []
    for i in range(n):
        minute += rng.expovariate(1 / 33)  # about 300 traces over a week
        qa = rng.choices(ALL_QA, weights=QA_WEIGHTS, k=1)[0]
        quality = "null" if i == null_at else _pick(rng, QUALITY_WEIGHTS)
        question = _question(rng, qa)
        answer = None if quality == "null" else _answer(rng, qa, quality)
        langfuse = rng.random() < 0.3
        has_expected = rng.random() < 0.6
        trace: dict[str, Any]
        if langfuse:
            app = APPS[qa.app]
            metadata = _metadata(rng, qa, quality, answer)
            if has_expected:
                # Langfuse dataset runs keep the reference in metadata, sometimes as an object.
                metadata["expected_output"] = {"answer": qa.expected} if rng.random() < 0.2 else qa.expected
            inp = _input(rng, qa, question)
            trace = {
                "id": _uuid(rng),
                "timestamp": _timestamp(rng, qa, minute, langfuse=True),
                "name": app.name,
                "input": inp,
                "output": _output(rng, answer),
                "metadata": metadata,
                "tags": list(app.tags) + ([LOCALES[qa.lang]] if qa.lang != "en" else []),
                "userId": f"user_{rng.getrandbits(32):08x}",
                "sessionId": f"sess_{rng.getrandbits(48):012x}",
                "release": "2025.03.1",
                "version": app.prompt_version,
                "environment": "production",
                "public": False,
            }
        else:
            trace = {
                "id": f"tr_{rng.getrandbits(64):016x}",
                "input": _input(rng, qa, question),
                "output": _output(rng, answer),
            }
            metadata = _metadata(rng, qa, quality, answer)
            if has_expected:
                if rng.random() < 0.8:
                    trace["expected"] = qa.expected
                else:
                    metadata["expected_output"] = qa.expected
            trace["metadata"] = metadata
            trace["timestamp"] = _timestamp(rng, qa, minute, langfuse=False)
        traces.append(trace)
    return traces


def render(traces: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in traces)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Write the bundled example traces (deterministic).")
    parser.add_argument("-o", "--output", type=Path, default=OUT, help=f"where to write (default {OUT.name})")
    parser.add_argument("-n", type=int, default=N_TRACES, help="number of traces")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from what would be written")
    args = parser.parse_args(argv)
    text = render(make_traces(args.n, args.seed))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"{args.output} is out of date; run: python examples/make_traces.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {args.n} traces to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
