"""Named states: relation states, event kinds, timeline and effect kinds, control owners."""

from enum import IntEnum, StrEnum


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
    LIVE_CHANGE = 11   #: a change made while the model runs (set_param, set_group, set_restriction)


class TimelineKind(StrEnum):
    """Kinds of scheduled timeline events (a scenario's ``[[timeline]]`` ``event``). Members
    are strings, equal to their names in lower case (``TimelineKind.RESTRICTION ==
    "restriction"``)."""

    INTERVENTION = "intervention"                  #: outside forces strike groups in a zone
    RESTRICTION = "restriction"                    #: a brokered ceasefire restricts a group
    LEADER_KILLED = "leader_killed"
    GOVERNANCE_PROGRAMME = "governance_programme"  #: governance and security supported
    GROUND_OFFENSIVE = "ground_offensive"          #: ground forces allied to the state advance
    SET_GROUP = "set_group"                        #: a group field changes


#: the timeline kinds that stay in force until their ``until`` week (the model's effects)
EFFECT_KINDS = frozenset({TimelineKind.INTERVENTION, TimelineKind.RESTRICTION,
                          TimelineKind.GOVERNANCE_PROGRAMME, TimelineKind.GROUND_OFFENSIVE})


#: control owner codes in ``model.owner`` (groups are 0..G-1)
NO_OWNER = -1
STATE = -2
