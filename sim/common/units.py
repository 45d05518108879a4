"""Units of time, in one place: the model's year of 52 weekly steps (the ``year`` column and
the charts' axes) and the calendar's year and month (dates of a scenario's ``[scale]``)."""

#: a model year: 52 weekly steps (``year`` = ``week`` / 52 in the steps table)
WEEKS_PER_YEAR = 52.0
#: a calendar year in weeks (dates of the scale, years of real time)
WEEKS_PER_CALENDAR_YEAR = 365.25 / 7.0
#: a calendar month in weeks (rounded as the scenario format documents it)
WEEKS_PER_MONTH = 4.35
