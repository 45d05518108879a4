"""Named states: relation states, event kinds and control owners."""

from enum import IntEnum


class Relation(IntEnum):
    """State of the relation between two groups."""

    RIVALRY = 0  #: competing, clashing now and then
    TRUCE = 1    #: no clashes, joint operations against the state, poaching
    WAR = 2      #: open infighting (higher clash rate)
    ENDED = 3    #: one of the pair no longer exists (merged, absorbed or destroyed)


class EventKind(IntEnum):
    """Kinds of rows in the events table."""

    CLASH = 0
    TRUCE_START = 1
    TRUCE_BROKEN = 2   #: a truce broke into war
    WAR_COOLED = 3     #: war cooled into rivalry
    MERGER = 4         #: merger by agreement
    ABSORPTION = 5     #: one group absorbed into the other
    LEADER_KILLED = 6
    LEADER_REPLACED = 7
    GROUP_DESTROYED = 8
    TIMELINE = 9       #: a scheduled scenario event started or ended


#: control owner codes in ``model.owner`` (groups are 0..G-1)
NO_OWNER = -1
STATE = -2
