// Package auth signs users in with Microsoft (Entra ID work and school
// accounts) and gives the backend delegated Microsoft Graph tokens for each
// signed-in user, kept in a TokenStore.
package auth
