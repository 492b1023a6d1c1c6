package staff

import (
	"slices"
)

// Role is what a staff member may do. Each role is a fixed set of
// permissions (see Can); a role may further be limited to tenants.
type Role string

const (
	// RoleAdmin runs the installation: staff, tenants and keys, upstreams
	// and models, and everything the other roles do.
	RoleAdmin Role = "admin"
	// RolePolicy edits policy: drafts, dry runs, publish and rollback; and
	// the knowledge bases that grounded routes answer from.
	RolePolicy Role = "policy"
	// RoleReviewer works the review queue: end users, strikes, sanctions,
	// blacklists, appeals and complaints.
	RoleReviewer Role = "reviewer"
	// RoleSenior works the review queue as a reviewer does, decides the
	// items two reviewers disagreed on, and exports rectification data.
	RoleSenior Role = "senior_reviewer"
	// RoleAuditor reads: audit search, detail, verification, export, and
	// answers complaints.
	RoleAuditor Role = "auditor"
	// RoleViewer sees dashboards only.
	RoleViewer Role = "viewer"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RolePolicy, RoleSenior, RoleReviewer, RoleAuditor, RoleViewer}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Permission names one thing a role may do. The admin API and the console
// check the same permissions, so a page and its API route agree.
type Permission string

const (
	ViewDashboard   Permission = "dashboard.view"
	ViewTenants     Permission = "tenants.view"
	ManageTenants   Permission = "tenants.manage" // tenants, keys
	ViewCatalog     Permission = "catalog.view"
	ManageCatalog   Permission = "catalog.manage" // upstreams, models, routing
	ViewUsers       Permission = "users.view"     // end users, standing, blacklists
	ManageSanctions Permission = "users.sanction" // impose, lift, blacklist
	ViewPolicy      Permission = "policy.view"
	ManagePolicy    Permission = "policy.manage" // dry run, publish, rollback
	ViewAudit       Permission = "audit.view"    // search, verify, export (no content)
	ViewContent     Permission = "audit.content" // decrypted content of records
	EraseContent    Permission = "audit.erase"   // data-subject deletion requests
	ViewComplaints  Permission = "complaints.view"
	AnswerComplaint Permission = "complaints.answer"
	ManageStaff     Permission = "staff.manage"
	ProfileNode     Permission = "node.profile"  // Go runtime profiles of a live node, when served
	ViewReview      Permission = "review.view"   // the review queue, its items and agreement
	DecideReview    Permission = "review.decide" // claim and decide review items
	SeniorReview    Permission = "review.senior" // decide items two reviewers disagreed on
	ExportRectify   Permission = "review.export" // rectification data (confirmed cases with their fixes)
	ViewKB          Permission = "kb.view"       // knowledge bases, their documents and search; grounded routes
	ManageKB        Permission = "kb.manage"     // add and remove knowledge bases and documents; ground routes
	// Bootstrap is held only by the bootstrap credential: it may create
	// staff (the first admin) and nothing else.
	Bootstrap Permission = "bootstrap"
)

// grants is the permission table. Admin holds every permission but
// Bootstrap.
var grants = map[Role][]Permission{
	RolePolicy: {ViewDashboard, ViewCatalog, ViewPolicy, ManagePolicy, ViewKB, ManageKB},
	RoleReviewer: {ViewDashboard, ViewTenants, ViewUsers, ManageSanctions, ViewContent, ViewComplaints, AnswerComplaint,
		ViewReview, DecideReview},
	RoleSenior: {ViewDashboard, ViewTenants, ViewUsers, ManageSanctions, ViewContent, ViewComplaints, AnswerComplaint,
		ViewReview, DecideReview, SeniorReview, ExportRectify},
	RoleAuditor: {ViewDashboard, ViewTenants, ViewCatalog, ViewUsers, ViewPolicy, ViewAudit, ViewContent,
		ViewComplaints, AnswerComplaint, ViewKB, ViewReview},
	RoleViewer: {ViewDashboard},
}

// Can reports whether role r holds permission p.
func (r Role) Can(p Permission) bool {
	if r == RoleAdmin {
		return p != Bootstrap
	}
	return slices.Contains(grants[r], p)
}
