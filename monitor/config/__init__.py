"""Configuration: a tree of validated sections loaded from one TOML file.

One module per section; `root` joins them, `checks` holds the cross-section checks and `loader` reads
the file. `load_config(path)` is the only entry point; any problem raises `ConfigError` with a message that
names the file, the key (and line where TOML syntax is at fault) and what to do.
"""

from monitor.config.alerts import AlertsConfig, WebhookConfig
from monitor.config.calendar import CalendarConfig, DutyConfig, SeasonConfig, SessionConfig
from monitor.config.hall import DepartmentConfig, HallConfig, StaffConfig
from monitor.config.loader import ENV_CONFIG, config_path, load_config
from monitor.config.mqtt import MqttConfig
from monitor.config.notices import NoticesConfig
from monitor.config.presence import PresenceConfig
from monitor.config.root import MonitorConfig, Window
from monitor.config.rules import DeductionConfig, RuleSetConfig, SheetConfig
from monitor.config.signers import SignerConfig
from monitor.config.storage import DatabaseConfig, EvidenceConfig, PathsConfig, RecorderConfig
from monitor.config.video import CameraConfig, DetectorConfig
from monitor.errors import ConfigError

__all__ = [
    "ENV_CONFIG",
    "AlertsConfig",
    "CalendarConfig",
    "CameraConfig",
    "ConfigError",
    "DatabaseConfig",
    "DeductionConfig",
    "DepartmentConfig",
    "DetectorConfig",
    "DutyConfig",
    "EvidenceConfig",
    "HallConfig",
    "MonitorConfig",
    "MqttConfig",
    "NoticesConfig",
    "PathsConfig",
    "PresenceConfig",
    "RecorderConfig",
    "RuleSetConfig",
    "SeasonConfig",
    "SessionConfig",
    "SheetConfig",
    "SignerConfig",
    "StaffConfig",
    "WebhookConfig",
    "Window",
    "config_path",
    "load_config",
]
