-- Notification policies can also say how the incidents of the alerts they take are paged and
-- grouped, for alerts whose rule does not (alerts Prometheus sends have no rule at all). A rule's
-- own escalation policy and `incident_group_by` still win.

ALTER TABLE notification_policies
    -- No ON DELETE action: deleting an escalation policy a notification policy pages is refused
    -- (the API answers 409 and names the notification policies), so nobody silently stops
    -- being paged.
    ADD COLUMN escalation_policy_id BIGINT REFERENCES escalation_policies (id),
    -- Labels whose values split these alerts into separate incidents (none: one incident per
    -- alert name, or per rule).
    ADD COLUMN incident_group_by TEXT[] NOT NULL DEFAULT '{}';
