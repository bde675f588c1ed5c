-- The figures in force per enterprise (issue 4): for each indicator kind and
-- year the latest arrival (of equal arrivals, the later row), as one JSON
-- array [[kind, year, value, source, arrived_at], …]. Written in the same
-- transaction as the indicators (`Store::add_indicators`); loading the
-- eligibility engine reads one row per enterprise instead of the history.
CREATE TABLE enterprise_figures (
    uscc    TEXT PRIMARY KEY REFERENCES enterprises (uscc),
    figures TEXT NOT NULL
);

INSERT INTO enterprise_figures (uscc, figures)
SELECT uscc, json_group_array(json_array(kind, year, value, source, arrived_at))
FROM (
    SELECT uscc, kind, year, value, source, arrived_at,
           ROW_NUMBER() OVER (PARTITION BY uscc, kind, year ORDER BY arrived_at DESC, id DESC) AS rn
    FROM indicators
) AS w
WHERE rn = 1
GROUP BY uscc;
