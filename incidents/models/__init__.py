"""Typed SQLAlchemy models, one file per aggregate. No service or provider calls here."""
from incidents.db import Base
from incidents.models.account import LoginRecord, RecoveryCode, UserToken
from incidents.models.alert import Alert
from incidents.models.api_key import ApiKey
from incidents.models.audit import AuditEvent
from incidents.models.customer import Customer, Integration, Service
from incidents.models.escalation import Escalation, EscalationPolicy
from incidents.models.heartbeat import Heartbeat
from incidents.models.inbound import InboundMessage
from incidents.models.incident import Incident, IncidentEvent
from incidents.models.maintenance import MaintenanceWindow
from incidents.models.oncall import Rotation, RotationMember, RotationOverride
from incidents.models.page import Page
from incidents.models.playbook import (PlaybookNotice, PlaybookRun, PlaybookStep, RegulatorClock, RevealedSecret,
                                       StoredSecret)
from incidents.models.report_delivery import ReportDelivery
from incidents.models.rule import ClassificationRule
from incidents.models.setting import Setting
from incidents.models.sla_pause import SlaPause
from incidents.models.user import User

__all__ = [
    "Alert", "ApiKey", "AuditEvent", "Base", "LoginRecord", "RecoveryCode", "UserToken", "ClassificationRule", "Customer", "Escalation", "EscalationPolicy", "Heartbeat", "InboundMessage",
    "Incident", "IncidentEvent", "Integration", "MaintenanceWindow", "Page", "PlaybookNotice", "PlaybookRun", "PlaybookStep",
    "RegulatorClock", "RevealedSecret", "Rotation", "RotationMember", "StoredSecret",
    "ReportDelivery", "RotationOverride", "Service", "Setting", "SlaPause", "User",
]
