/**
 * The signed-in admin token, kept in this tab's sessionStorage only: gone when the tab closes,
 * never in a URL, a cookie or localStorage.
 */
const KEY = "scim-bridge.console.token";

export const storedToken = () => {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
};

export const storeToken = (token) => sessionStorage.setItem(KEY, token);

export const forgetToken = () => sessionStorage.removeItem(KEY);

/** What a role may do in the console (the API enforces it; this only hides what would be refused). */
export function capabilities(role) {
  const admin = role === "admin";
  return {
    /** people, operations, escalations, held operations */
    read: admin || role === "viewer" || role === "operator",
    /** resolve, approve, reject, retry */
    act: admin || role === "operator",
    targets: admin || role === "viewer" || role === "operator" || role === "app-owner",
  };
}
