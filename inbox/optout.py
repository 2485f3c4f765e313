"""Do not contact: recording an opt-out (and removing it, admins only, with the history kept), and the
opt-out words looked for in received messages.

Opt-out words: "stop", "unsubscribe" and their common equivalents in received messages.

A match only flags the message and its conversation for an operator (who opts the person out with one
click); it never opts anyone out by itself, because "don't stop writing to me" contains "stop" too.
Matching is on whole words or phrases, ignoring case and accents ("DÉSABONNER" matches "desabonner").
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from crm.parsing import text_problem
from inbox import live
from inbox.models import Contact, Conversation, OptOut

# Written without accents and in lower case: the text is folded the same way before matching.
WORDS = (
    # English
    "stop", "unsubscribe", "opt out", "opt-out", "optout", "remove me", "do not contact",
    "dont contact", "don't contact", "do not message", "don't message", "dont message",
    "leave me alone",
    # German
    "stopp", "abmelden", "abbestellen", "austragen", "nicht mehr schreiben", "keine nachrichten mehr",
    # French
    "desabonner", "desabonnez", "desinscrire", "desinscrivez", "arretez", "ne plus me contacter",
    "ne m'ecrivez plus",
    # Spanish
    "darme de baja", "dame de baja", "no me escribas", "no me escriba", "cancelar suscripcion",
    # Italian
    "disiscrivimi", "cancellami", "non scrivermi", "non contattarmi", "basta messaggi",
    # Portuguese
    "descadastrar", "descadastre", "cancelar inscricao", "nao me mande", "pare de enviar",
    # Russian
    "стоп", "отписаться", "отпишите", "отписка", "не пишите", "не пиши мне", "хватит писать",
    # Ukrainian
    "відписатися", "відпишіть", "не пишіть", "не пиши мені",
    # Polish
    "wypisz", "wypisz mnie", "wypisac", "nie pisz", "nie piszcie", "rezygnuje",
    # Dutch
    "afmelden", "uitschrijven", "niet meer sturen", "stuur niets meer",
    # Turkish
    "abonelikten cik", "mesaj atmayin", "rahatsiz etmeyin", "beni listeden cikar",
)  # fmt: skip

# Telegram texts are at most 4,096 characters (captions 1,024); anything longer is not a real message,
# and scanning it would only cost time.
SCAN_LIMIT = 8192


def fold(text: str) -> str:
    """Lower case without accents: NFKD drops combining marks ("é" → "e", "й" → "и"), casefold turns "ß"
    into "ss"; Turkish dotless i (U+0131) has no decomposition, so it is mapped by hand."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("\u0131", "i"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.replace("\u2019", "'").replace("\x00", "")


def _pattern() -> re.Pattern[str]:
    phrases = sorted({fold(w) for w in WORDS}, key=len, reverse=True)
    # Words inside a phrase may be separated by any run of spaces; lookarounds instead of \b, so a
    # phrase that ends in an apostrophe or hyphen still needs a word boundary after it.
    body = "|".join(r"\s+".join(re.escape(part) for part in p.split()) for p in phrases)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")


PATTERN = _pattern()


def opt_out_word(text: str) -> str:
    """The first opt-out word or phrase in ``text`` (folded, as listed), or "" when there is none."""
    if not text:
        return ""
    found = PATTERN.search(fold(text[:SCAN_LIMIT]))
    return " ".join(found.group(0).split()) if found else ""


# --- recording and removing opt-outs -----------------------------------------------------------------

MAX_REASON = 500


def contact_opt_out(
    *, contact: Contact, reason: str, by: Any, conversation: Conversation | None = None
) -> OptOut:
    """Mark the person opted out: audiences leave them out, planning skips them and a send already
    queued for them is refused when the session host claims it (``outreach.services.send_claim``).
    Opting out someone already opted out returns the current record unchanged."""
    reason = reason.strip()
    if problem := text_problem(reason, max_length=MAX_REASON):
        raise ValueError(problem)
    with transaction.atomic():
        # Locking the contact serialises two clicks at once: the second finds the first's record.
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        current = OptOut.objects.filter(contact=locked, removed_at__isnull=True).first()
        if current is None:
            current = OptOut.objects.create(
                contact=locked, conversation=conversation, reason=reason, created_by=_user(by)
            )
        Contact.objects.filter(pk=locked.pk).update(opted_out=True, updated_at=timezone.now())
        flagged = Conversation.objects.filter(contact=locked).exclude(opt_out_flag="")
        accounts = set(flagged.values_list("account_id", flat=True))
        flagged.update(opt_out_flag="")
        if conversation is not None:
            accounts.add(conversation.account_id)
        live.bump(accounts)
    contact.opted_out = True
    return current


def contact_opt_out_remove(*, contact: Contact, by: Any) -> OptOut | None:
    """Admins only: the person may be contacted again. The record stays, with who removed it and when;
    returns it (None when there was no current opt-out)."""
    if not getattr(by, "is_admin", False):
        raise PermissionDenied("Only an admin can remove an opt-out")
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        current = OptOut.objects.filter(contact=locked, removed_at__isnull=True).first()
        if current is not None:
            current.removed_by, current.removed_at = _user(by), timezone.now()
            current.save(update_fields=["removed_by", "removed_at"])
        Contact.objects.filter(pk=locked.pk).update(opted_out=False, updated_at=timezone.now())
        live.bump(set(locked.conversations.values_list("account_id", flat=True)))
    contact.opted_out = False
    return current


def conversation_opt_out_dismiss(*, conversation: Conversation) -> None:
    """The flagged words were not an opt-out ("don't stop writing"): the conversation's flag goes, the
    message keeps its mark."""
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(opt_out_flag="")
        live.bump({conversation.account_id})
    conversation.opt_out_flag = ""


def opt_outs_of(*, contact: Contact) -> QuerySet[OptOut]:
    """The person's opt-outs, newest first, current and removed."""
    return contact.opt_outs.select_related("created_by", "removed_by").order_by("-created_at", "-id")


def _user(by: Any) -> Any:
    return by if getattr(by, "pk", None) else None
