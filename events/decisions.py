"""What rules decide. The processing service carries the decisions out."""

from dataclasses import dataclass
from datetime import datetime

from events.domain import AppLaunched, TrainingProgramStarted
from notifications.domain import Notification


@dataclass(frozen=True, slots=True)
class Reminder:
    """A pending nudge for a user who launched the app and has not trained yet."""

    launch: AppLaunched
    deadline: datetime

    @property
    def user_id(self) -> str:
        return self.launch.user_id


@dataclass(frozen=True, slots=True)
class OpenSession:
    started: TrainingProgramStarted


@dataclass(frozen=True, slots=True)
class CloseSession:
    session_key: tuple[str, str]


@dataclass(frozen=True, slots=True)
class ArmReminder:
    reminder: Reminder


@dataclass(frozen=True, slots=True)
class CancelReminder:
    user_id: str


@dataclass(frozen=True, slots=True)
class Notify:
    notification: Notification


Decision = OpenSession | CloseSession | ArmReminder | CancelReminder | Notify
