extension WebUI {
    /// `favicon.svg`: The icon.
    static let faviconSVG = #"""
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1d4e89"/><path d="M6 11h14a4 4 0 1 0-4-4M6 17h19a4 4 0 1 1-4 4M6 23h9" fill="none" stroke="#fff" stroke-width="2.5" stroke-linecap="round"/></svg>
        """#
}
