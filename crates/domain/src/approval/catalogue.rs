//! Service item catalogue (政务服务事项清单) — being written.
