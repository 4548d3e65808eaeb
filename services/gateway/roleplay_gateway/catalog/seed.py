"""The default catalog, applied at gateway start (idempotent): so `make up` is usable at once.

* the admin account from `GATEWAY_ADMIN_EMAIL` / `GATEWAY_ADMIN_PASSWORD`;
* the provider STAND-IN (a local server, `GATEWAY_STANDIN_URL`): OpenAI-compatible chat with
  `standin-roleplay` (default) and `standin-fallback`, and its fal.ai queue with the image
  models `standin-image` (default) and `standin-image-b`;
* roleplay prompt templates: universal sfw and nsfw, and one for `standin-roleplay`;
* a public demo character, a persona of the admin's, and a demo scene template.
Rows that exist (by name, key or fixed id) are left as operators changed them, except the
stand-in's address, which follows `GATEWAY_STANDIN_URL`.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_common.service import Runtime
from roleplay_gateway.auth.service import ensure_admin
from roleplay_gateway.auth.store import Profile
from roleplay_gateway.catalog.store import Model, PromptTemplateRow, Provider
from roleplay_gateway.characters.store import Character, SceneTemplate
from roleplay_gateway.settings import GatewaySettings

_SEED = uuid.UUID("0b6f3c1e-0c1f-4d3a-9a6e-5d0f7a2b9c10")
DEMO_CHARACTER_ID = uuid.uuid5(_SEED, "demo-character")
DEMO_PERSONA_ID = uuid.uuid5(_SEED, "demo-persona")
DEMO_SCENE_ID = uuid.uuid5(_SEED, "demo-scene")

ROLEPLAY_SFW = """You are {{character_name}}, in an immersive roleplay with {{user_name}}.

CHARACTER
- Who you are: {{character_description}}
- Personality: {{character_personality}}
- Scenario: {{scenario}}

THE PERSON YOU ARE TALKING TO
- {{user_name}}: {{user_persona}}

HOW TO WRITE
- Stay in character at all times; never mention being an AI or a model.
- Write only {{character_name}}'s words, thoughts and actions, in the first person, with
  actions between *asterisks*. Never decide what {{user_name}} says or does.
- Keep replies vivid and concise (about 60 to 180 words); move the scene forward and leave
  {{user_name}} something to respond to.
- Keep the tone consistent with these examples:
{{example_dialogue}}"""

ROLEPLAY_NSFW = (
    ROLEPLAY_SFW
    + """
- This is an adult story between consenting adults; mature themes are allowed when the
  scene leads there, written with care for both characters' agency."""
)

ROLEPLAY_STANDIN = ROLEPLAY_SFW + "\n- (Tuned for the stand-in model: short sentences.)"


async def seed_catalog(runtime: Runtime, settings: GatewaySettings) -> None:
    async with runtime.db.transaction() as session:
        admin_id = await ensure_admin(
            session, settings.admin_email, settings.admin_password.get_secret_value()
        )
        standin, standin_fal = await _providers(session, settings)
        await _models(session, standin, standin_fal)
        await _templates(session)
        await _demo(session, admin_id)


async def _providers(session: AsyncSession, settings: GatewaySettings) -> tuple[Provider, Provider]:
    root = settings.standin_url.rstrip("/")
    health_url = f"{root}/healthz"
    found = []
    for name, kind, base_url, label in (
        ("standin", "openai_compatible", f"{root}/v1", "chat"),
        ("standin-fal", "fal", f"{root}/fal", "fal.ai queue"),
    ):
        existing = (
            await session.execute(sa.select(Provider).where(col(Provider.name) == name))
        ).scalar_one_or_none()
        if existing is not None:
            # The stand-in is local infrastructure: it follows GATEWAY_STANDIN_URL.
            existing.base_url, existing.health_url = base_url, health_url
            found.append(existing)
            continue
        provider = Provider(
            name=name,
            display_name=f"Provider STAND-IN, {label} (local, offline)",
            kind=kind,
            base_url=base_url,
            api_key_env=None,
            health_url=health_url,
        )
        session.add(provider)
        await session.flush()
        found.append(provider)
    return found[0], found[1]


async def _models(session: AsyncSession, standin: Provider, standin_fal: Provider) -> None:
    wanted = [
        Model(
            key="standin-roleplay",
            display_name="Stand-in Roleplay",
            provider_id=standin.id,
            model_name="standin-roleplay",
            modality="chat",
            task="roleplay",
            is_default=True,
            priority=0,
            context_window=8192,
            max_output_tokens=300,
            input_cost_per_mtok=Decimal("0.5"),
            output_cost_per_mtok=Decimal("1.5"),
        ),
        Model(
            key="standin-fallback",
            display_name="Stand-in Fallback",
            provider_id=standin.id,
            model_name="standin-fallback",
            modality="chat",
            task="roleplay",
            priority=10,
            context_window=4096,
            max_output_tokens=200,
            input_cost_per_mtok=Decimal("0.2"),
            output_cost_per_mtok=Decimal("0.6"),
        ),
        Model(
            key="standin-image",
            display_name="Stand-in Image",
            provider_id=standin_fal.id,
            model_name="standin-image",
            modality="image",
            task="t2i",
            is_default=True,
            priority=0,
            cost_per_image=Decimal("0.01"),
        ),
        Model(
            key="standin-image-b",
            display_name="Stand-in Image (fallback)",
            provider_id=standin_fal.id,
            model_name="standin-image-b",
            modality="image",
            task="t2i",
            priority=10,
            cost_per_image=Decimal("0.02"),
        ),
        Model(
            key="standin-image-i2i",
            display_name="Stand-in Image-to-Image",
            provider_id=standin_fal.id,
            model_name="standin-image-i2i",
            modality="image",
            task="i2i",
            is_default=True,
            priority=0,
            cost_per_image=Decimal("0.015"),
        ),
        Model(
            key="standin-image-edit",
            display_name="Stand-in Image Edit",
            provider_id=standin_fal.id,
            model_name="standin-image-edit",
            modality="image",
            task="modification",
            is_default=True,
            priority=0,
            cost_per_image=Decimal("0.015"),
        ),
    ]
    existing = {m.key: m for m in (await session.execute(sa.select(Model))).scalars()}
    for model in wanted:
        current = existing.get(model.key)
        if current is None:
            session.add(model)
        elif model.modality == "image" and current.provider_id == standin.id:
            current.provider_id = standin_fal.id  # image models moved to the fal stand-in


async def _templates(session: AsyncSession) -> None:
    wanted = [
        PromptTemplateRow(
            name="Roleplay (universal, sfw)",
            use_case="character_roleplay",
            content_mode="sfw",
            system_prompt=ROLEPLAY_SFW,
        ),
        PromptTemplateRow(
            name="Roleplay (universal, nsfw)",
            use_case="character_roleplay",
            content_mode="nsfw",
            system_prompt=ROLEPLAY_NSFW,
        ),
        PromptTemplateRow(
            name="Roleplay (standin-roleplay, sfw)",
            use_case="character_roleplay",
            content_mode="sfw",
            target_model="standin-roleplay",
            system_prompt=ROLEPLAY_STANDIN,
        ),
    ]
    existing = set((await session.execute(sa.select(col(PromptTemplateRow.name)))).scalars())
    for template in wanted:
        if template.name not in existing:
            session.add(template)


async def _demo(session: AsyncSession, admin_id: uuid.UUID) -> None:
    if await session.get(Character, DEMO_CHARACTER_ID) is None:
        session.add(
            Character(
                id=DEMO_CHARACTER_ID,
                owner_id=admin_id,
                role="ai",
                name="Captain Mira Vale",
                description="The sharp-eyed captain of the airship Kestrel, mapping storms "
                "over the Shattered Isles.",
                persona="Curious, dry-witted, fiercely loyal to her crew; hides worry behind "
                "jokes.",
                scenario="{{user}} has just stowed away aboard the Kestrel as a storm builds.",
                first_message="*The deck lurches as thunder rolls past.* Well, well. Either "
                "you're the worst stowaway I've ever caught, or the bravest. Which is it?",
                alternate_greetings=[
                    "*Mira lowers her spyglass and smiles.* You're awake. Good — we need every "
                    "hand on deck before that storm hits.",
                    "*She tosses you a coil of rope.* No time for introductions. Tie that off "
                    "and tell me your name while you work.",
                ],
                example_dialogue="Mira: *taps the map* Storms this far north don't just "
                "happen. Someone's steering them.",
                content_rating="sfw",
                visibility="public",
                appearance_tags=["woman", "30s", "auburn braid", "long navy coat", "brass goggles"],
                scene_behavior_rules={"pacing": "adventurous", "tone": "warm and witty"},
                consistency_method="i2i_reference",
                creator="roleplay seed",
            )
        )
    if await session.get(Character, DEMO_PERSONA_ID) is None:
        session.add(
            Character(
                id=DEMO_PERSONA_ID,
                owner_id=admin_id,
                role="user",
                name="Ash",
                description="A wandering cartographer with more curiosity than sense.",
                persona="Quiet, observant, quick with a compass.",
                appearance_tags=["young man", "windswept hair", "patched satchel"],
                visibility="private",
            )
        )
        await session.flush()
        await session.execute(
            sa.update(Profile)
            .where(col(Profile.user_id) == admin_id, col(Profile.default_persona_id).is_(None))
            .values(default_persona_id=DEMO_PERSONA_ID)
        )
    if await session.get(SceneTemplate, DEMO_SCENE_ID) is None:
        session.add(
            SceneTemplate(
                id=DEMO_SCENE_ID,
                owner_id=admin_id,
                name="Airship deck in a storm",
                description="The open deck of a wooden airship, lightning on the horizon.",
                setting="The deck of the airship Kestrel, high above the Shattered Isles.",
                scenario="A storm is closing in and the crew is short-handed; every pair of "
                "hands counts.",
                scene_starters=[
                    "Grab a rope and help trim the sails.",
                    "Ask the captain where the storm came from.",
                ],
                scene_prompt="wooden airship deck, brass fittings, storm clouds, lightning, "
                "wind-blown sails, dramatic light",
                tags=["adventure", "airship", "storm"],
                visibility="public",
            )
        )
