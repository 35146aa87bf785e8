// @generated automatically by Diesel CLI.

diesel::table! {
    alert_connection_status (connection_id) {
        connection_id -> Uuid,
        status -> Text,
    }
}

diesel::table! {
    alert_deliveries (id) {
        id -> Int8,
        destination_id -> Uuid,
        outbox_id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        at -> Timestamptz,
        status -> Nullable<Int2>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    alert_destinations (id) {
        id -> Uuid,
        org_id -> Nullable<Uuid>,
        kind -> Text,
        url -> Text,
        events -> Array<Text>,
        secret_enc -> Nullable<Bytea>,
        created_at -> Timestamptz,
        last_status -> Nullable<Int2>,
        failing_since -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    alert_outbox (id) {
        id -> Uuid,
        destination_id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        body -> Jsonb,
        status -> Text,
        attempts -> Int4,
        created_at -> Timestamptz,
        next_attempt_at -> Timestamptz,
        give_up_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    alert_problems (connection_id, code) {
        connection_id -> Uuid,
        code -> Text,
        message -> Text,
        held_since -> Nullable<Timestamptz>,
        clear_since -> Nullable<Timestamptz>,
        opened_at -> Nullable<Timestamptz>,
        notified -> Bool,
        last_opened_notice_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    alert_summaries (code) {
        code -> Text,
        pending_orgs -> Array<Uuid>,
        last_sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        org_id -> Uuid,
        role -> Text,
        label -> Text,
        secret_sha256 -> Bytea,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    attention_tags (connection_id, opportunity_id) {
        connection_id -> Uuid,
        opportunity_id -> Text,
        tag -> Text,
        event_id -> Nullable<Uuid>,
        posted_at -> Timestamptz,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Uuid,
        org_id -> Uuid,
        created_at -> Timestamptz,
        actor -> Text,
        action -> Text,
        target -> Nullable<Text>,
        summary -> Text,
    }
}

diesel::table! {
    candidate_claims (connection_id, opportunity_id) {
        connection_id -> Uuid,
        opportunity_id -> Text,
        unit_id -> Uuid,
        owner -> Text,
        epoch -> Int8,
        until -> Timestamptz,
    }
}

diesel::table! {
    connection_counters (connection_id, kind, minute) {
        connection_id -> Uuid,
        kind -> Text,
        minute -> Timestamptz,
        count -> Int4,
    }
}

diesel::table! {
    connection_health (connection_id) {
        connection_id -> Uuid,
        supervisor_running -> Bool,
        instance -> Nullable<Text>,
        heartbeat_at -> Nullable<Timestamptz>,
        restarts -> Int4,
        last_received_at -> Nullable<Timestamptz>,
        last_success_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        last_error_at -> Nullable<Timestamptz>,
        throttled_until -> Nullable<Timestamptz>,
        link_p50_ms -> Nullable<Int4>,
        link_p95_ms -> Nullable<Int4>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    connection_leases (connection_id) {
        connection_id -> Uuid,
        owner -> Nullable<Text>,
        epoch -> Int8,
        expires_at -> Timestamptz,
        claims_epoch -> Int8,
    }
}

diesel::table! {
    connection_results (connection_id) {
        connection_id -> Uuid,
        note -> Bool,
        feedback -> Bool,
        pdf -> Bool,
        tag_passed -> Nullable<Text>,
        tag_not_passed -> Nullable<Text>,
        tag_needs_attention -> Nullable<Text>,
        feedback_template -> Nullable<Jsonb>,
        results_refused -> Nullable<Jsonb>,
    }
}

diesel::table! {
    connection_sweeps (connection_id) {
        connection_id -> Uuid,
        last_at -> Nullable<Timestamptz>,
        next_at -> Nullable<Timestamptz>,
        found_last -> Int4,
        found_total -> Int8,
        requested_at -> Nullable<Timestamptz>,
        started_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        webhook_repaired_at -> Nullable<Timestamptz>,
        webhook_missing_url -> Nullable<Text>,
        updated_at -> Timestamptz,
        failures -> Int4,
        failing_since -> Nullable<Timestamptz>,
        retry_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    connections (id) {
        id -> Uuid,
        org_id -> Uuid,
        status -> Text,
        lever_account_id -> Nullable<Text>,
        stage_id -> Nullable<Text>,
        stage_name -> Text,
        stage_found -> Bool,
        tag_link_created -> Text,
        tag_completed -> Text,
        perform_as -> Nullable<Text>,
        access_token_enc -> Nullable<Bytea>,
        refresh_token_enc -> Nullable<Bytea>,
        token_expires_at -> Nullable<Timestamptz>,
        token_state -> Text,
        last_refreshed_at -> Nullable<Timestamptz>,
        scopes -> Nullable<Text>,
        problems -> Jsonb,
        connected_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        refreshing_until -> Nullable<Timestamptz>,
        on_archive -> Text,
        on_hired -> Text,
        on_stage_exit -> Text,
        link_ttl_days -> Nullable<Int4>,
        tag_closed -> Nullable<Text>,
        tag_expired -> Nullable<Text>,
        webhooks_setup_until -> Nullable<Timestamptz>,
        stages -> Jsonb,
    }
}

diesel::table! {
    console_sessions (id_sha256) {
        id_sha256 -> Bytea,
        key_id -> Nullable<Uuid>,
        org_id -> Nullable<Uuid>,
        role -> Text,
        csrf_token -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    erased_candidates (connection_id, opportunity_key) {
        connection_id -> Uuid,
        opportunity_key -> Text,
        erased_at -> Timestamptz,
    }
}

diesel::table! {
    event_replays (event_id, replayed_at) {
        event_id -> Uuid,
        replayed_at -> Timestamptz,
        actor -> Text,
    }
}

diesel::table! {
    instances (id) {
        id -> Text,
        heartbeat_at -> Timestamptz,
        taken_over_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    interviews (id) {
        id -> Uuid,
        org_id -> Uuid,
        connection_id -> Uuid,
        event_id -> Nullable<Uuid>,
        opportunity_id -> Text,
        posting_id -> Nullable<Text>,
        posting_title -> Nullable<Text>,
        role_id -> Nullable<Uuid>,
        role_name -> Nullable<Text>,
        rule -> Text,
        status -> Text,
        live_token -> Text,
        results_token -> Text,
        link_added_at -> Nullable<Timestamptz>,
        link_tag -> Nullable<Text>,
        link_posted_at -> Nullable<Timestamptz>,
        result -> Nullable<Jsonb>,
        completed_at -> Nullable<Timestamptz>,
        results_link_added_at -> Nullable<Timestamptz>,
        live_link_removed_at -> Nullable<Timestamptz>,
        completed_tag -> Nullable<Text>,
        completed_tag_added_at -> Nullable<Timestamptz>,
        link_tag_removed_at -> Nullable<Timestamptz>,
        note_id -> Nullable<Text>,
        results_posted_at -> Nullable<Timestamptz>,
        cancelled_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        live_url -> Nullable<Text>,
        results_url -> Nullable<Text>,
        close_reason -> Nullable<Text>,
        closed_tag -> Nullable<Text>,
    }
}

diesel::table! {
    interview_outcomes (interview_id) {
        interview_id -> Uuid,
        stage_id -> Nullable<Text>,
        outcome -> Nullable<Text>,
        outcome_tag -> Nullable<Text>,
        stage_move -> Nullable<Text>,
        stage_move_at -> Nullable<Timestamptz>,
        feedback_id -> Nullable<Text>,
        file_id -> Nullable<Text>,
        note_instead -> Nullable<Text>,
        note_sent_at -> Nullable<Timestamptz>,
        feedback_sent_at -> Nullable<Timestamptz>,
        file_sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    interview_links (interview_id) {
        interview_id -> Uuid,
        connection_id -> Uuid,
        expires_at -> Nullable<Timestamptz>,
        opened_at -> Nullable<Timestamptz>,
        expiry_done -> Bool,
        in_stage_seen_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    jobs (id) {
        id -> Uuid,
        connection_id -> Uuid,
        interview_id -> Uuid,
        kind -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    lever_events (id) {
        id -> Uuid,
        connection_id -> Uuid,
        org_id -> Uuid,
        event -> Text,
        token -> Text,
        triggered_at -> Int8,
        opportunity_id -> Nullable<Text>,
        to_stage_id -> Nullable<Text>,
        from_stage_id -> Nullable<Text>,
        payload -> Text,
        status -> Text,
        reason -> Nullable<Text>,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        interview_id -> Nullable<Uuid>,
        received_at -> Timestamptz,
        updated_at -> Timestamptz,
        source -> Text,
        trace_parent -> Nullable<Text>,
    }
}

diesel::table! {
    lever_calls (id) {
        id -> Int8,
        connection_id -> Uuid,
        candidate_key -> Text,
        unit_id -> Uuid,
        route -> Text,
        status -> Nullable<Int2>,
        duration_ms -> Int4,
        attempt -> Int2,
        sent_at -> Timestamptz,
    }
}

diesel::table! {
    lever_webhooks (id) {
        id -> Uuid,
        connection_id -> Uuid,
        lever_webhook_id -> Nullable<Text>,
        url -> Text,
        managed -> Bool,
        signature_token_enc -> Bytea,
        created_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        event -> Text,
    }
}

diesel::table! {
    oauth_states (state_sha256) {
        state_sha256 -> Bytea,
        org_id -> Uuid,
        connection_id -> Uuid,
        stage_id -> Nullable<Text>,
        stage_name -> Nullable<Text>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        from_console -> Bool,
    }
}

diesel::table! {
    orgs (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    role_overlaps (connection_id, posting_id) {
        connection_id -> Uuid,
        org_id -> Uuid,
        posting_id -> Text,
        rule -> Text,
        roles -> Array<Text>,
        seen_at -> Timestamptz,
    }
}

diesel::table! {
    role_ats_jobs (role_id, position) {
        org_id -> Uuid,
        role_id -> Uuid,
        position -> Int4,
        entry -> Text,
        entry_key -> Text,
    }
}

diesel::table! {
    role_ats_tags (role_id, position) {
        org_id -> Uuid,
        role_id -> Uuid,
        position -> Int4,
        tag -> Text,
    }
}

diesel::table! {
    roles (id) {
        id -> Uuid,
        org_id -> Uuid,
        name -> Text,
        fallback -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        link_ttl_days -> Nullable<Int4>,
        pass_score -> Nullable<Int2>,
        on_pass_stage_id -> Nullable<Text>,
        on_pass_stage_name -> Nullable<Text>,
        stages -> Array<Text>,
    }
}

diesel::joinable!(alert_connection_status -> connections (connection_id));
diesel::joinable!(alert_deliveries -> alert_destinations (destination_id));
diesel::joinable!(alert_destinations -> orgs (org_id));
diesel::joinable!(alert_outbox -> alert_destinations (destination_id));
diesel::joinable!(alert_problems -> connections (connection_id));
diesel::joinable!(api_keys -> orgs (org_id));
diesel::joinable!(attention_tags -> connections (connection_id));
diesel::joinable!(audit_log -> orgs (org_id));
diesel::joinable!(candidate_claims -> connections (connection_id));
diesel::joinable!(connection_counters -> connections (connection_id));
diesel::joinable!(connection_health -> connections (connection_id));
diesel::joinable!(connection_leases -> connections (connection_id));
diesel::joinable!(connection_results -> connections (connection_id));
diesel::joinable!(connection_sweeps -> connections (connection_id));
diesel::joinable!(connections -> orgs (org_id));
diesel::joinable!(console_sessions -> api_keys (key_id));
diesel::joinable!(console_sessions -> orgs (org_id));
diesel::joinable!(erased_candidates -> connections (connection_id));
diesel::joinable!(interview_links -> connections (connection_id));
diesel::joinable!(interview_links -> interviews (interview_id));
diesel::joinable!(interview_outcomes -> interviews (interview_id));
diesel::joinable!(event_replays -> lever_events (event_id));
diesel::joinable!(interviews -> connections (connection_id));
diesel::joinable!(interviews -> lever_events (event_id));
diesel::joinable!(interviews -> orgs (org_id));
diesel::joinable!(interviews -> roles (role_id));
diesel::joinable!(jobs -> connections (connection_id));
diesel::joinable!(jobs -> interviews (interview_id));
diesel::joinable!(lever_calls -> connections (connection_id));
diesel::joinable!(lever_webhooks -> connections (connection_id));
diesel::joinable!(oauth_states -> connections (connection_id));
diesel::joinable!(oauth_states -> orgs (org_id));
diesel::joinable!(role_overlaps -> connections (connection_id));
diesel::joinable!(role_overlaps -> orgs (org_id));
diesel::joinable!(role_ats_jobs -> orgs (org_id));
diesel::joinable!(role_ats_jobs -> roles (role_id));
diesel::joinable!(role_ats_tags -> orgs (org_id));
diesel::joinable!(role_ats_tags -> roles (role_id));
diesel::joinable!(roles -> orgs (org_id));

diesel::allow_tables_to_appear_in_same_query!(
    alert_connection_status,
    alert_deliveries,
    alert_destinations,
    alert_outbox,
    alert_problems,
    alert_summaries,
    api_keys,
    attention_tags,
    audit_log,
    candidate_claims,
    connection_counters,
    connection_health,
    connection_leases,
    connection_results,
    connection_sweeps,
    connections,
    console_sessions,
    erased_candidates,
    event_replays,
    instances,
    interview_links,
    interview_outcomes,
    interviews,
    jobs,
    lever_calls,
    lever_events,
    lever_webhooks,
    oauth_states,
    orgs,
    role_ats_jobs,
    role_ats_tags,
    role_overlaps,
    roles,
);
