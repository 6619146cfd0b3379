-- F4: customers under tightened control (any risk flag), read by every page to mark them.
CREATE INDEX customers_tightened ON customers(id) WHERE risk_flags <> '[]';
-- F3: the segmentation counts each customer's orders of the last twelve months.
CREATE INDEX orders_created ON orders(created_at);
