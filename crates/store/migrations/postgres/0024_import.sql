-- F29: records imported from another system keep that system's id, so importing the same file
-- again finds them and changes nothing. Orders are keyed by their contract and number already.
ALTER TABLE customers ADD COLUMN external_key TEXT;
CREATE UNIQUE INDEX customers_external_key ON customers(external_key) WHERE external_key IS NOT NULL;
ALTER TABLE contacts ADD COLUMN external_key TEXT;
CREATE UNIQUE INDEX contacts_external_key ON contacts(external_key) WHERE external_key IS NOT NULL;
ALTER TABLE requirements ADD COLUMN external_key TEXT;
CREATE UNIQUE INDEX requirements_external_key ON requirements(external_key) WHERE external_key IS NOT NULL;
