//! Roles and what each may see or change. The HTTP layer asks these
//! functions; it never decides access on its own.

use serde::{Deserialize, Serialize};

use crate::uscc::Uscc;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Acts only for its own enterprise.
    Enterprise,
    /// Works its own department's queue.
    Staff,
    /// 市政府办公室/督查: reads everything, changes nothing of the departments'.
    Supervisor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Enterprise, Role::Staff, Role::Supervisor, Role::Admin];

    pub fn key(self) -> &'static str {
        match self {
            Role::Enterprise => "enterprise",
            Role::Staff => "staff",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Enterprise => "企业用户",
            Role::Staff => "部门工作人员",
            Role::Supervisor => "督查人员",
            Role::Admin => "系统管理员",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|r| r.key() == s || r.label() == s)
    }
}

/// The authenticated actor of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Set for enterprise users only.
    pub enterprise: Option<Uscc>,
    /// Department code, set for staff only.
    pub department: Option<String>,
}

impl Principal {
    /// The registry as a whole (lists, search, export) is for government roles.
    pub fn can_browse_registry(&self) -> bool {
        matches!(self.role, Role::Staff | Role::Supervisor | Role::Admin)
    }

    /// An enterprise user sees only its own enterprise; government roles see all.
    pub fn can_view_enterprise(&self, uscc: &Uscc) -> bool {
        match self.role {
            Role::Enterprise => self.enterprise.as_ref() == Some(uscc),
            Role::Staff | Role::Supervisor | Role::Admin => true,
        }
    }

    /// Registry edits and imports are administrative.
    pub fn can_edit_registry(&self) -> bool {
        self.role == Role::Admin
    }

    /// Staff submit figures in their own department's name only; admins may
    /// load on behalf of any department (bulk imports).
    pub fn can_submit_indicator_from(&self, department: &str) -> bool {
        match self.role {
            Role::Staff => self.department.as_deref() == Some(department),
            Role::Admin => true,
            Role::Enterprise | Role::Supervisor => false,
        }
    }

    /// Publishing, withdrawing and repealing policies is administrative.
    pub fn can_manage_policies(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn can_read_audit(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }

    pub fn can_manage_accounts(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn can_use_workbench(&self) -> bool {
        self.role == Role::Staff
    }

    pub fn can_supervise(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }

    /// A staff member's department issued or leads the policy.
    fn owns_policy(&self, issuer: &str, departments: &[String]) -> bool {
        self.role == Role::Staff
            && self
                .department
                .as_deref()
                .is_some_and(|d| d == issuer || departments.iter().any(|x| x == d))
    }

    /// Who writes a policy's eligibility rule: administrators for any
    /// policy, staff for the policies their own department issued or leads
    /// (the department that pays knows the conditions). Supervisors read
    /// rules in the sandbox but do not change them.
    pub fn can_edit_policy_rule(&self, issuer: &str, departments: &[String]) -> bool {
        self.role == Role::Admin || self.owns_policy(issuer, departments)
    }

    /// The sandbox only reads (counts over the whole base): every
    /// government role may run it; enterprises never see the base.
    pub fn can_run_sandbox(&self) -> bool {
        matches!(self.role, Role::Staff | Role::Supervisor | Role::Admin)
    }

    /// Award lists and the 即申即享 queue are visible to government roles
    /// (supervisors follow the money) …
    pub fn can_view_awards(&self) -> bool {
        matches!(self.role, Role::Staff | Role::Supervisor | Role::Admin)
    }

    /// One policy's lists and queued applications: supervisors and
    /// administrators see all, staff their own department's policies.
    pub fn can_view_awards_of(&self, issuer: &str, departments: &[String]) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin) || self.owns_policy(issuer, departments)
    }

    /// … but only administrators and the owning department's staff
    /// generate, publish, approve, pay or cancel award lists and decide
    /// queued 即申即享 applications.
    pub fn can_manage_awards(&self, issuer: &str, departments: &[String]) -> bool {
        self.role == Role::Admin || self.owns_policy(issuer, departments)
    }

    /// The catalogue editor pages and the workbook export: government roles
    /// (supervisors read them; enterprises use the public pages).
    pub fn can_read_catalogue_admin(&self) -> bool {
        matches!(self.role, Role::Staff | Role::Supervisor | Role::Admin)
    }

    /// A service item is maintained by its own department; admins maintain
    /// all. Moving an item needs this for both departments.
    pub fn can_edit_service_item(&self, department: &str) -> bool {
        match self.role {
            Role::Staff => self.department.as_deref() == Some(department),
            Role::Admin => true,
            Role::Enterprise | Role::Supervisor => false,
        }
    }

    /// Staff may add items (for their own department) and import.
    pub fn can_edit_catalogue(&self) -> bool {
        matches!(self.role, Role::Staff | Role::Admin)
    }

    /// 一件事 span departments, so only admins change them.
    pub fn can_edit_combined_matters(&self) -> bool {
        self.role == Role::Admin
    }
}

/// A login name: 3–32 characters of ASCII letters, digits, `_`, `-`, `.`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Username, String> {
        let s = s.trim();
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !(3..=32).contains(&s.len()) || !ok_chars {
            return Err("用户名应为3–32位字母、数字、下划线、连字符或点".into());
        }
        Ok(Username(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Password strength policy for new passwords.
pub fn check_new_password(pw: &str) -> Result<(), String> {
    let n = pw.chars().count();
    if n < 8 {
        return Err("密码至少8位".into());
    }
    if n > 128 {
        return Err("密码不能超过128位".into());
    }
    let has_letter = pw.chars().any(|c| c.is_alphabetic());
    let has_digit = pw.chars().any(|c| c.is_ascii_digit());
    if !(has_letter && has_digit) {
        return Err("密码须同时包含字母和数字".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: Role) -> Principal {
        Principal {
            user_id: 1,
            username: "u".into(),
            display_name: "u".into(),
            role,
            enterprise: (role == Role::Enterprise)
                .then(|| Uscc::parse("91440400192548256N").unwrap()),
            department: (role == Role::Staff).then(|| "SSWJ".to_owned()),
        }
    }

    #[test]
    fn enterprise_sees_only_itself() {
        let own = Uscc::parse("91440400192548256N").unwrap();
        let other = Uscc::parse("91350100M000100Y43").unwrap();
        let e = p(Role::Enterprise);
        assert!(e.can_view_enterprise(&own));
        assert!(!e.can_view_enterprise(&other));
        assert!(!e.can_browse_registry());
        assert!(!e.can_read_audit());
        assert!(!e.can_edit_registry());
    }

    #[test]
    fn supervisor_reads_but_does_not_change() {
        let s = p(Role::Supervisor);
        assert!(s.can_browse_registry() && s.can_read_audit() && s.can_supervise());
        assert!(!s.can_edit_registry());
        assert!(!s.can_submit_indicator_from("SSWJ"));
        assert!(!s.can_manage_accounts());
    }

    #[test]
    fn staff_submit_only_for_own_department() {
        let s = p(Role::Staff);
        assert!(s.can_submit_indicator_from("SSWJ"));
        assert!(!s.can_submit_indicator_from("SKJJ"));
        assert!(!s.can_read_audit());
    }

    #[test]
    fn policy_rules_and_awards_belong_to_the_owning_department() {
        let depts = vec!["SKJJ".to_owned(), "SSWJ".to_owned()];
        let staff = p(Role::Staff);
        assert!(staff.can_edit_policy_rule("SCZJ", &depts), "lead unit");
        assert!(staff.can_edit_policy_rule("SSWJ", &[]), "issuer");
        assert!(!staff.can_edit_policy_rule("SCZJ", &["SKJJ".into()]));
        assert!(staff.can_manage_awards("SSWJ", &[]));
        assert!(!staff.can_manage_awards("SCZJ", &[]));
        assert!(staff.can_run_sandbox() && staff.can_view_awards());
        assert!(staff.can_view_awards_of("SSWJ", &[]) && !staff.can_view_awards_of("SCZJ", &[]));

        let admin = p(Role::Admin);
        assert!(admin.can_edit_policy_rule("X", &[]) && admin.can_manage_awards("X", &[]));
        assert!(admin.can_run_sandbox());

        let sup = p(Role::Supervisor);
        assert!(sup.can_run_sandbox() && sup.can_view_awards());
        assert!(!sup.can_edit_policy_rule("SSWJ", &depts));
        assert!(!sup.can_manage_awards("SSWJ", &depts));
        assert!(sup.can_view_awards_of("SCZJ", &[]));

        let e = p(Role::Enterprise);
        assert!(!e.can_run_sandbox() && !e.can_view_awards());
        assert!(!e.can_edit_policy_rule("SSWJ", &depts));
        assert!(!e.can_manage_awards("SSWJ", &depts));
        assert!(!e.can_view_awards_of("SSWJ", &depts));

        // Staff without a department own nothing.
        let mut lost = p(Role::Staff);
        lost.department = None;
        assert!(!lost.can_edit_policy_rule("", &[String::new()]));
    }

    #[test]
    fn catalogue_editing_by_department() {
        let staff = p(Role::Staff);
        assert!(staff.can_edit_service_item("SSWJ"));
        assert!(!staff.can_edit_service_item("SKJJ"));
        assert!(staff.can_edit_catalogue() && staff.can_read_catalogue_admin());
        assert!(!staff.can_edit_combined_matters());
        let admin = p(Role::Admin);
        assert!(admin.can_edit_service_item("SKJJ") && admin.can_edit_combined_matters());
        let sup = p(Role::Supervisor);
        assert!(sup.can_read_catalogue_admin());
        assert!(!sup.can_edit_service_item("SSWJ") && !sup.can_edit_catalogue());
        let e = p(Role::Enterprise);
        assert!(!e.can_read_catalogue_admin() && !e.can_edit_catalogue());
        assert!(!e.can_edit_service_item("SSWJ") && !e.can_edit_combined_matters());
        // Staff without a department edit nothing.
        let mut lost = p(Role::Staff);
        lost.department = None;
        assert!(!lost.can_edit_service_item("SSWJ"));
    }

    #[test]
    fn usernames_and_passwords() {
        assert_eq!(Username::parse(" Admin ").unwrap().as_str(), "admin");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("张三").is_err());
        assert!(check_new_password("short1").is_err());
        assert!(check_new_password("longenough").is_err());
        assert!(check_new_password("zhengqi2026").is_ok());
    }
}
