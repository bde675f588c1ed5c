//! 免申即享 awards and 即申即享 applications: the states an award moves
//! through and who may move it, free of IO so every rule is unit-tested.
//!
//! A list of awards is computed by the engine, reviewed by staff, published
//! for public notice (公示) for a number of working days during which anyone
//! may object; after the notice each enterprise confirms its receiving
//! account, staff approve and finally record the payment. An award is paid
//! at most once: `Paid` has no way out and needs a unique payment reference.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Enterprises apply as usual (the rule only drives push and hints).
    Standard,
    /// 免申即享: the platform lists the eligible and pays without application.
    Exempt,
    /// 即申即享: an application is decided at once when the rule says so.
    Instant,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Standard, Mode::Exempt, Mode::Instant];

    pub fn key(self) -> &'static str {
        match self {
            Mode::Standard => "standard",
            Mode::Exempt => "exempt",
            Mode::Instant => "instant",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mode::Standard => "依申请",
            Mode::Exempt => "免申即享",
            Mode::Instant => "即申即享",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|m| m.key() == s || m.label() == s)
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListStatus {
    /// Computed, waiting for staff review.
    Review,
    /// Published for public notice until `publicity_to` (inclusive).
    Publicity,
    /// The notice period is over: awards may be approved and paid.
    Final,
    /// Discarded by staff before publication.
    Cancelled,
}

impl ListStatus {
    pub fn key(self) -> &'static str {
        match self {
            ListStatus::Review => "review",
            ListStatus::Publicity => "publicity",
            ListStatus::Final => "final",
            ListStatus::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ListStatus::Review => "待审核",
            ListStatus::Publicity => "公示中",
            ListStatus::Final => "公示期满",
            ListStatus::Cancelled => "已作废",
        }
    }

    pub fn parse(s: &str) -> Option<ListStatus> {
        [
            ListStatus::Review,
            ListStatus::Publicity,
            ListStatus::Final,
            ListStatus::Cancelled,
        ]
        .into_iter()
        .find(|x| x.key() == s)
    }

    /// The stored status as of `today`: a notice period that has ended is
    /// final without anyone having to flip it.
    pub fn effective(self, publicity_to: Option<NaiveDate>, today: NaiveDate) -> ListStatus {
        match (self, publicity_to) {
            (ListStatus::Publicity, Some(to)) if today > to => ListStatus::Final,
            (s, _) => s,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwardStatus {
    Listed,
    AccountConfirmed,
    Approved,
    Paid,
    Withdrawn,
}

impl AwardStatus {
    pub const ALL: [AwardStatus; 5] = [
        AwardStatus::Listed,
        AwardStatus::AccountConfirmed,
        AwardStatus::Approved,
        AwardStatus::Paid,
        AwardStatus::Withdrawn,
    ];

    pub fn key(self) -> &'static str {
        match self {
            AwardStatus::Listed => "listed",
            AwardStatus::AccountConfirmed => "account_confirmed",
            AwardStatus::Approved => "approved",
            AwardStatus::Paid => "paid",
            AwardStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AwardStatus::Listed => "待确认账户",
            AwardStatus::AccountConfirmed => "已确认账户",
            AwardStatus::Approved => "已核准",
            AwardStatus::Paid => "已拨付",
            AwardStatus::Withdrawn => "已撤销",
        }
    }

    pub fn parse(s: &str) -> Option<AwardStatus> {
        Self::ALL.into_iter().find(|x| x.key() == s)
    }
}

/// A receiving bank account; only the enterprise's own 对公账户 is accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankAccount {
    pub holder: String,
    pub bank: String,
    pub number: String,
}

impl BankAccount {
    /// The holder must be the enterprise itself (money never goes to a third
    /// party); the number is 8–32 digits, spaces and dashes ignored.
    pub fn parse(
        enterprise_name: &str,
        holder: &str,
        bank: &str,
        number: &str,
    ) -> Result<BankAccount, String> {
        let holder = holder.trim();
        let bank = bank.trim();
        let digits: String = number
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if holder != enterprise_name.trim() {
            return Err(format!(
                "账户名称“{holder}”与企业名称“{}”不一致：补贴只能拨付到企业本单位对公账户",
                enterprise_name.trim()
            ));
        }
        if bank.is_empty() || bank.chars().count() > 60 {
            return Err("请填写开户银行（不超过60个字）".into());
        }
        if !(8..=32).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("银行账号“{}”无效：应为8至32位数字", number.trim()));
        }
        Ok(BankAccount {
            holder: holder.to_owned(),
            bank: bank.to_owned(),
            number: digits,
        })
    }

    /// For display: only the last four digits.
    pub fn masked(&self) -> String {
        let n = self.number.len();
        format!("{} ****{}", self.bank, &self.number[n.saturating_sub(4)..])
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AwardAction {
    ConfirmAccount,
    Approve,
    Pay,
    Withdraw,
}

/// Decides whether `action` may move an award in `status` on a list in
/// `list` (already [`ListStatus::effective`]) and returns the new status.
/// `open_objection`: an unresolved objection concerns this award.
pub fn next_status(
    list: ListStatus,
    status: AwardStatus,
    open_objection: bool,
    action: &AwardAction,
) -> Result<AwardStatus, String> {
    use AwardAction as A;
    use AwardStatus as S;
    match (action, status) {
        (_, S::Paid) => Err("该笔资金已拨付，不能再变更".into()),
        (_, S::Withdrawn) => Err("该笔资金已撤销".into()),
        (A::ConfirmAccount, S::Listed | S::AccountConfirmed) => match list {
            ListStatus::Publicity | ListStatus::Final => Ok(S::AccountConfirmed),
            _ => Err("名单尚未公示，暂不能确认收款账户".into()),
        },
        (A::ConfirmAccount, _) => Err("资金已核准，收款账户不能再修改".into()),
        (A::Approve, S::AccountConfirmed) => {
            if list != ListStatus::Final {
                Err("公示期未满，不能核准".into())
            } else if open_objection {
                Err("该企业有未处理的公示异议，处理后才能核准".into())
            } else {
                Ok(S::Approved)
            }
        }
        (A::Approve, S::Listed) => Err("企业尚未确认收款账户，不能核准".into()),
        (A::Approve, _) => Err("该笔资金已核准".into()),
        (A::Pay, S::Approved) => Ok(S::Paid),
        (A::Pay, _) => Err("资金未核准，不能拨付".into()),
        (A::Withdraw, _) => Ok(S::Withdrawn),
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// 即申即享: the rule said eligible; decided at once.
    AutoApproved,
    /// The rule could not decide (data missing): a person decides.
    Pending,
    /// The rule said not eligible; the reasons were shown at once.
    AutoRejected,
    ManualApproved,
    ManualRejected,
    Paid,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 6] = [
        ApplicationStatus::AutoApproved,
        ApplicationStatus::Pending,
        ApplicationStatus::AutoRejected,
        ApplicationStatus::ManualApproved,
        ApplicationStatus::ManualRejected,
        ApplicationStatus::Paid,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ApplicationStatus::AutoApproved => "auto_approved",
            ApplicationStatus::Pending => "pending",
            ApplicationStatus::AutoRejected => "auto_rejected",
            ApplicationStatus::ManualApproved => "manual_approved",
            ApplicationStatus::ManualRejected => "manual_rejected",
            ApplicationStatus::Paid => "paid",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ApplicationStatus::AutoApproved => "已通过（系统即时核准）",
            ApplicationStatus::Pending => "待人工审核",
            ApplicationStatus::AutoRejected => "不符合条件",
            ApplicationStatus::ManualApproved => "已通过（人工审核）",
            ApplicationStatus::ManualRejected => "未通过（人工审核）",
            ApplicationStatus::Paid => "已拨付",
        }
    }

    pub fn parse(s: &str) -> Option<ApplicationStatus> {
        Self::ALL.into_iter().find(|x| x.key() == s)
    }

    pub fn is_approved(self) -> bool {
        matches!(
            self,
            ApplicationStatus::AutoApproved | ApplicationStatus::ManualApproved
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn notice_period_ends_by_itself() {
        let to = Some(d("2026-12-04"));
        assert_eq!(
            ListStatus::Publicity.effective(to, d("2026-12-04")),
            ListStatus::Publicity
        );
        assert_eq!(
            ListStatus::Publicity.effective(to, d("2026-12-05")),
            ListStatus::Final
        );
        assert_eq!(
            ListStatus::Review.effective(to, d("2027-01-01")),
            ListStatus::Review
        );
    }

    #[test]
    fn an_award_goes_listed_confirmed_approved_paid_once() {
        use AwardAction as A;
        use AwardStatus as S;
        let s = next_status(ListStatus::Publicity, S::Listed, false, &A::ConfirmAccount).unwrap();
        assert_eq!(s, S::AccountConfirmed);
        assert!(next_status(ListStatus::Publicity, s, false, &A::Approve).is_err());
        assert!(next_status(ListStatus::Final, s, true, &A::Approve).is_err());
        let s = next_status(ListStatus::Final, s, false, &A::Approve).unwrap();
        assert_eq!(s, S::Approved);
        assert!(next_status(ListStatus::Final, s, false, &A::ConfirmAccount).is_err());
        let s = next_status(ListStatus::Final, s, false, &A::Pay).unwrap();
        assert_eq!(s, S::Paid);
        for a in [A::ConfirmAccount, A::Approve, A::Pay, A::Withdraw] {
            assert!(next_status(ListStatus::Final, S::Paid, false, &a).is_err());
        }
        assert!(next_status(ListStatus::Final, S::Listed, false, &A::Pay).is_err());
        assert!(next_status(ListStatus::Review, S::Listed, false, &A::ConfirmAccount).is_err());
    }

    #[test]
    fn accounts_must_be_the_enterprises_own() {
        let ok = BankAccount::parse(
            "珠海示范科技有限公司",
            "珠海示范科技有限公司",
            "中国银行珠海分行",
            "6217 8570-0001 2345",
        )
        .unwrap();
        assert_eq!(ok.number, "6217857000012345");
        assert_eq!(ok.masked(), "中国银行珠海分行 ****2345");
        assert!(
            BankAccount::parse(
                "珠海示范科技有限公司",
                "张三",
                "中国银行",
                "6217857000012345"
            )
            .unwrap_err()
            .contains("不一致")
        );
        assert!(
            BankAccount::parse("甲公司", "甲公司", "中国银行", "12ab")
                .unwrap_err()
                .contains("8至32位")
        );
        assert!(BankAccount::parse("甲公司", "甲公司", "", "62178570000").is_err());
    }

    #[test]
    fn modes_parse_by_key_or_label() {
        assert_eq!(Mode::parse("免申即享"), Some(Mode::Exempt));
        assert_eq!(Mode::parse("instant"), Some(Mode::Instant));
        assert_eq!(Mode::parse("x"), None);
    }
}
