"""The OpenVoiceOS skill of the energy management system.

Installed by setup.py under the ``opm.skill`` entry point as
``skill-enms.openvoiceos``; its intents and dialogs (the repository's top-level
``locale/``) are shipped inside this package as ``skill_enms/locale``.
"""
from .skill import SKILL_ID, EnmsSkill, create_skill

__all__ = ["EnmsSkill", "SKILL_ID", "create_skill"]
