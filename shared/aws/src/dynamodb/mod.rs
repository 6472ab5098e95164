//! The DynamoDB adapters: incidents (`INCIDENTS_TABLE`), and in `STATE_TABLE` the error
//! counts, the login counters and locks, and the action ledger. `item` holds the helpers
//! every adapter builds items with.

pub mod error_counts;
pub mod guard;
pub mod incidents;
pub mod item;
pub mod ledger;

pub use error_counts::DynamoErrorCounts;
pub use guard::DynamoGuardStore;
pub use incidents::{DynamoIncidentStore, bootstrap_tables, create_table, sdk_error};
pub use ledger::{DynamoActionLedger, DynamoScaleOuts};
