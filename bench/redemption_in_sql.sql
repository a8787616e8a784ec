-- bench/redemptions.py's upper bound: what PostgreSQL alone does if a redemption were one
-- call. The same reads and writes as the server's redemption (the cashier, the business and
-- their staff record, the idempotency key, the card and its account, both balances with the
-- card's floor, the event log's counter and event, the transfer, the stored answer) in one PL/pgSQL
-- function, called by pgbench with no HTTP server in between.
--
-- A measuring instrument, not product code: the ledger rules live in server/wallet/, once.
DROP TABLE IF EXISTS bench_cards;
CREATE TABLE bench_cards AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM gift_cards;
CREATE UNIQUE INDEX ON bench_cards (n);

CREATE OR REPLACE FUNCTION bench_redeem(p_user text, p_key text, p_n bigint, p_amount bigint)
RETURNS bigint AS $$
DECLARE
    v_card text; v_business text; v_account bigint; v_currency text;
    v_revenue bigint; v_balance bigint; v_staff text; v_position bigint;
BEGIN
    PERFORM 1 FROM users WHERE id = p_user;
    SELECT c.id, g.business_id, g.account_id, g.currency
        INTO v_card, v_business, v_account, v_currency
        FROM bench_cards c JOIN gift_cards g ON g.id = c.id WHERE c.n = p_n;
    SELECT s.user_id INTO v_staff FROM businesses b
        LEFT JOIN staff s ON s.business_id = b.id AND s.user_id = p_user WHERE b.id = v_business;
    IF v_staff IS NULL THEN RAISE EXCEPTION 'not a cashier of this business'; END IF;
    PERFORM 1 FROM idempotency_records WHERE scope = p_user AND key = p_key;
    IF FOUND THEN RETURN NULL; END IF;
    SELECT id INTO v_revenue FROM ledger_accounts
        WHERE key = 'revenue:' || v_business || ':' || v_currency;
    UPDATE ledger_accounts SET balance_minor = balance_minor - p_amount
        WHERE id = v_account AND balance_minor >= p_amount RETURNING balance_minor INTO v_balance;
    IF v_balance IS NULL THEN RAISE EXCEPTION 'insufficient balance'; END IF;
    UPDATE ledger_accounts SET balance_minor = balance_minor + p_amount WHERE id = v_revenue;
    INSERT INTO event_counters (business_id, position) VALUES (v_business, 1)
        ON CONFLICT (business_id) DO UPDATE SET position = event_counters.position + 1
        RETURNING position INTO v_position;
    INSERT INTO events (business_id, position, entity, entity_id, kind, occurred_at)
        VALUES (v_business, v_position, 'card', v_card, 'balance_changed', now());
    INSERT INTO transfers (operation_id, kind, debit_account_id, credit_account_id,
                           amount_minor, currency, card_id, memo, created_at)
        VALUES (substr(md5(p_key), 1, 11), 'redemption', v_account, v_revenue, p_amount,
                v_currency, v_card, 'by a cashier', now());
    INSERT INTO idempotency_records (scope, key, request_hash, status_code, response, created_at)
        VALUES (p_user, p_key, md5(p_key) || md5(p_key), 200,
                json_build_object('card_id', v_card, 'amount_minor', p_amount,
                                  'balance_after_minor', v_balance), now());
    RETURN v_balance;
END $$ LANGUAGE plpgsql;
