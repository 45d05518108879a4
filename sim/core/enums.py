"""Named states: relation states, event kinds and control owners."""

from enum import IntEnum


class Relation(IntEnum):
    """State of the relation between two groups."""

    RIVALRY = 0  #: competing, clashing now and then
    TRUCE = 1    #: no clashes, joint operations against the state, poaching
    WAR = 2      #: open infighting (higher clash rate)
    ENDED = 3    #: one of the pair no longer exists (merged, pledged or destroyed)


class EventKind(IntEnum):
    """Kinds of rows in the events table."""

    CLASH = 0
    TRUCE_START = 1
    TRUCE_BROKEN = 2   #: a truce broke into war
    WAR_COOLED = 3     #: war cooled into rivalry
    MERGER = 4         #: merger by agreement
    PLEDGE = 5         #: one group's leadership pledged allegiance to the other's
    LEADER_KILLED = 6
    LEADER_REPLACED = 7
    GROUP_DESTROYED = 8
    TIMELINE = 9       #: a scheduled scenario event started or ended
    WAR_DECLARED = 10  #: a rivalry escalated into war


#: control owner codes in ``model.owner`` (groups are 0..G-1)
NO_OWNER = -1
STATE = -2
