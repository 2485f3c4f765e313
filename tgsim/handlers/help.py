"""help.* : what a client asks before and right after connecting (config, nearest DC, app config).

tgsim is a single data centre, so the config lists exactly one DC: itself, at 127.0.0.1 and the port it
listens on, under the dc_id the Server was given. Values mirror what Telegram's production config returns.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from telethon.tl import functions, types

from tgsim.handshake import DH_G, DH_PRIME
from tgsim.rpc import Call, handles

CONFIG_TTL = 3600  # seconds; Telegram's config expires after about an hour


def _dc_options(call: Call) -> list[types.DcOption]:
    server = call.server
    # A server bound to every interface is still reached on loopback by local clients.
    wildcard = ("0.0.0.0", "::", "")  # noqa: S104 - compared against, not bound to
    host = "127.0.0.1" if server.host in wildcard else server.host
    return [types.DcOption(id=server.dc_id, ip_address=host, port=server.port)]


@handles(functions.help.GetConfigRequest)
async def get_config(call: Call, req: functions.help.GetConfigRequest) -> types.Config:
    """help.getConfig: DC list and server limits. Telethon sends it inside initConnection on every
    connect and uses dc_options to reach (here: the only) DC."""
    now = int(time.time())
    return types.Config(
        date=datetime.fromtimestamp(now, UTC),
        expires=datetime.fromtimestamp(now + CONFIG_TTL, UTC),
        test_mode=False,
        this_dc=call.server.dc_id,
        dc_options=_dc_options(call),
        dc_txt_domain_name="apv3.stel.com",
        chat_size_max=200,
        megagroup_size_max=200000,
        forwarded_count_max=100,
        online_update_period_ms=210000,
        offline_blur_timeout_ms=5000,
        offline_idle_timeout_ms=30000,
        online_cloud_timeout_ms=300000,
        notify_cloud_delay_ms=30000,
        notify_default_delay_ms=1500,
        push_chat_period_ms=60000,
        push_chat_limit=2,
        edit_time_limit=172800,
        revoke_time_limit=2147483647,
        revoke_pm_time_limit=2147483647,
        rating_e_decay=2419200,
        stickers_recent_limit=200,
        channels_read_media_period=604800,
        call_receive_timeout_ms=20000,
        call_ring_timeout_ms=90000,
        call_connect_timeout_ms=30000,
        call_packet_timeout_ms=10000,
        me_url_prefix="https://t.me/",
        caption_length_max=1024,
        message_length_max=4096,
        webfile_dc_id=call.server.dc_id,
        default_p2p_contacts=True,
        revoke_pm_inbox=True,
        tmp_sessions=None,
        autoupdate_url_prefix=None,
        gif_search_username="gif",
        venue_search_username="foursquare",
        img_search_username="bing",
        suggested_lang_code="en",
        lang_pack_version=0,
        base_lang_pack_version=0,
    )


@handles(functions.help.GetNearestDcRequest)
async def get_nearest_dc(call: Call, req: functions.help.GetNearestDcRequest) -> types.NearestDc:
    """help.getNearestDc: with one DC, the nearest DC is always this one."""
    return types.NearestDc(country="NL", this_dc=call.server.dc_id, nearest_dc=call.server.dc_id)


@handles(functions.help.GetAppConfigRequest)
async def get_app_config(call: Call, req: functions.help.GetAppConfigRequest) -> types.help.AppConfig:
    """help.getAppConfig: client-tunable flags as a JSON object; a matching hash means not modified."""
    config = types.JsonObject(
        [
            types.JsonObjectValue("test", types.JsonNumber(1)),
            types.JsonObjectValue("channels_limit_default", types.JsonNumber(500)),
            types.JsonObjectValue("dialog_filters_limit_default", types.JsonNumber(10)),
        ]
    )
    config_hash = 1  # the config never changes while tgsim runs
    if req.hash == config_hash:
        return types.help.AppConfigNotModified()
    return types.help.AppConfig(hash=config_hash, config=config)


@handles(functions.help.GetPromoDataRequest)
async def get_promo_data(call: Call, req: functions.help.GetPromoDataRequest) -> types.help.PromoDataEmpty:
    """help.getPromoData: no sponsored proxy channel here."""
    return types.help.PromoDataEmpty(expires=datetime.fromtimestamp(int(time.time()) + CONFIG_TTL, UTC))


@handles(functions.help.GetTermsOfServiceUpdateRequest)
async def get_tos_update(call: Call, req: object) -> types.help.TermsOfServiceUpdateEmpty:
    """help.getTermsOfServiceUpdate: the terms never change in tgsim."""
    return types.help.TermsOfServiceUpdateEmpty(expires=datetime.fromtimestamp(int(time.time()) + 86400, UTC))


@handles(functions.help.GetInviteTextRequest)
async def get_invite_text(call: Call, req: object) -> types.help.InviteText:
    """help.getInviteText: the text Telegram suggests for inviting friends."""
    return types.help.InviteText(message="Join me on Telegram: https://telegram.org/dl")


@handles(functions.help.GetCountriesListRequest)
async def get_countries_list(call: Call, req: functions.help.GetCountriesListRequest) -> object:
    """help.getCountriesList: one country is enough for phone formatting in clients."""
    country = types.help.Country(
        iso2="NL",
        default_name="Netherlands",
        country_codes=[types.help.CountryCode(country_code="31", prefixes=None, patterns=["X XX XX XX XX"])],
    )
    if req.hash == 1:
        return types.help.CountriesListNotModified()
    return types.help.CountriesList(countries=[country], hash=1)


@handles(functions.messages.GetDhConfigRequest)
async def get_dh_config(call: Call, req: functions.messages.GetDhConfigRequest) -> object:
    """messages.getDhConfig: the same 2048-bit safe prime and generator the auth key handshake uses."""
    if req.version == 1:
        return types.messages.DhConfigNotModified(random=os.urandom(max(req.random_length, 0)))
    return types.messages.DhConfig(
        g=DH_G, p=DH_PRIME.to_bytes(256, "big"), version=1, random=os.urandom(max(req.random_length, 0))
    )
