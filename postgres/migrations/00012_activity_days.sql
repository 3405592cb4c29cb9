-- +goose Up
-- Activity is kept per UTC day too: a long window merges its whole days'
-- sketches instead of 24 hours' each. Rows of days begun before this
-- version miss their earlier hours; reports notice (their events fall short
-- of the hours') and merge those days' hours instead.
ALTER TABLE analytics_activity DROP CONSTRAINT analytics_activity_unit_check,
    ADD CONSTRAINT analytics_activity_unit_check CHECK (unit IN ('minute', 'hour', 'day'));

-- +goose Down
DELETE FROM analytics_activity WHERE unit = 'day';
ALTER TABLE analytics_activity DROP CONSTRAINT analytics_activity_unit_check,
    ADD CONSTRAINT analytics_activity_unit_check CHECK (unit IN ('minute', 'hour'));
